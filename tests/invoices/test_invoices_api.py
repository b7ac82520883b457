"""Invoices through HTTP: the state table of domain.md, partial payments, postponement,
overdue interest, change (observation / paymentLink), and search with every filter."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from customer_credit.invoices.models import Invoice
from tests.contract import assert_matches, is_error_shape
from tests.helpers import account, configure, dec, open_account, purchase

ACCOUNTS = "/api/creditcontrol/accounts"
INVOICE = f"{ACCOUNTS}/{{creditAccountId}}/invoices/{{invoiceId}}"
ACCOUNT_INVOICES = f"{ACCOUNTS}/{{creditAccountId}}/invoices"
ALL_INVOICES = "/api/creditcontrol/invoices"


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def refused(response, status: int, code: str | None = None) -> str:
    assert response.status_code == status, response.text
    assert is_error_shape(response)
    if code is not None:
        assert response.json()["error"]["code"] == code
    return response.json()["error"]["code"]


def set_invoice(database, store, invoice_id: str, **values) -> None:
    with database.write() as session:
        changed = session.execute(
            update(Invoice)
            .where(Invoice.store_id == store.id, Invoice.public_id == invoice_id)
            .values(**values)
        ).rowcount
    assert changed == 1


def ledger(api, account_id) -> list[tuple[str, object]]:
    response = api.get(f"/accounts/{account_id}/statements")
    assert response.status_code == 200, response.text
    return [(entry["origin"], dec(entry["value"])) for entry in response.json()["statements"]]


def balance(api, account_id):
    return dec(account(api, account_id)["balance"])


class Bill:
    """One invoice of a fresh purchase, with shortcuts for its endpoints."""

    def __init__(self, api, value="30", *, installments=1, credit_limit="1000"):
        self.api = api
        self.account_id = open_account(api, credit_limit=credit_limit)["id"]
        self.transaction_id = purchase(api, self.account_id, value, installments=installments)
        self.id = f"{self.transaction_id}-01"
        self.path = f"/accounts/{self.account_id}/invoices/{self.id}"

    def get(self) -> dict:
        response = self.api.get(self.path)
        assert_matches("get", INVOICE, response)
        return response.json()

    def pay(self, value=None):
        if value is None:
            return self.api.post(f"{self.path}/payments")
        return self.api.post(f"{self.path}/payments", json={"value": value})

    def change(self, status, **fields):
        return self.api.put(self.path, json={"status": status, **fields})

    def cancel(self):
        return self.api.delete(self.path)

    def postpone(self, days):
        return self.api.put(f"{self.path}/postponement", json={"dueDays": days})

    def ledger(self):
        return ledger(self.api, self.account_id)

    def balance(self):
        return balance(self.api, self.account_id)


# --- the state table ----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["POST payments", "PUT status"])
def test_opened_to_paid(api, how):
    bill = Bill(api, "30")
    response = bill.pay() if how == "POST payments" else bill.change("Paid")
    assert response.status_code == 200, response.text
    if how == "POST payments":
        assert_matches("post", f"{INVOICE}/payments", response)
        assert response.json() == bill.get()
    else:
        assert response.content == b""
    invoice = bill.get()
    assert invoice["status"] == "Paid"
    assert dec(invoice["creditValue"]) == dec("30")
    assert dec(invoice["value"]) == dec("30")
    assert invoice["resolvedAt"] is not None
    assert bill.balance() == 0
    assert bill.ledger() == [("Invoice", dec("-30")), ("Payment", dec("30"))]


@pytest.mark.parametrize("how", ["DELETE", "PUT status"])
def test_opened_to_cancelled(api, how):
    bill = Bill(api, "30")
    response = bill.cancel() if how == "DELETE" else bill.change("Cancelled")
    assert response.status_code == 200, response.text
    assert response.content == b""
    invoice = bill.get()
    assert invoice["status"] == "Cancelled"
    assert invoice["resolvedAt"] is not None
    assert dec(invoice["value"]) == dec("30")
    assert bill.balance() == 0
    assert bill.ledger() == [("Invoice", dec("-30")), ("Invoice", dec("30"))]


def test_paid_to_opened_reverses_the_payment(api):
    bill = Bill(api, "30")
    assert bill.pay().status_code == 200
    paid_at = bill.get()["updatedAt"]
    reversed_ = bill.change("Opened")
    assert reversed_.status_code == 200, reversed_.text
    invoice = bill.get()
    assert invoice["status"] == "Opened"
    assert dec(invoice["creditValue"]) == 0
    assert invoice["resolvedAt"] is None
    assert when(invoice["updatedAt"]) >= when(paid_at)
    assert bill.balance() == dec("-30")
    assert bill.ledger() == [("Invoice", dec("-30")), ("Payment", dec("30")), ("Payment", dec("-30"))]
    # Reopened, it can be paid (or cancelled) again.
    assert bill.cancel().status_code == 200
    assert bill.balance() == 0


@pytest.mark.parametrize(
    "setup, repeat",
    [
        ("none", "PUT Opened"),
        ("pay", "POST payments"),
        ("pay", "PUT Paid"),
        ("cancel", "DELETE"),
        ("cancel", "PUT Cancelled"),
    ],
)
def test_asking_for_the_current_state_is_a_no_op(api, setup, repeat):
    bill = Bill(api, "30")
    if setup == "pay":
        assert bill.pay().status_code == 200
    elif setup == "cancel":
        assert bill.cancel().status_code == 200
    before, entries, owed = bill.get(), bill.ledger(), bill.balance()

    if repeat == "POST payments":
        response = bill.pay()
    elif repeat == "DELETE":
        response = bill.cancel()
    else:
        response = bill.change(repeat.split()[1])
    assert response.status_code == 200, response.text
    assert bill.get() == before
    assert bill.ledger() == entries
    assert bill.balance() == owed


@pytest.mark.parametrize("how", ["DELETE", "PUT status"])
def test_paid_to_cancelled_is_refused(api, how):
    bill = Bill(api, "30")
    assert bill.pay().status_code == 200
    before, entries = bill.get(), bill.ledger()
    response = bill.cancel() if how == "DELETE" else bill.change("Cancelled")
    refused(response, 409, "InvoiceAlreadyPaid")
    assert bill.get() == before
    assert bill.ledger() == entries


@pytest.mark.parametrize("how", ["PUT Opened", "PUT Paid", "POST payments", "POST partial payment"])
def test_cancelled_to_anything_is_refused(api, how):
    bill = Bill(api, "30")
    assert bill.cancel().status_code == 200
    before, entries = bill.get(), bill.ledger()
    if how == "POST payments":
        response = bill.pay()
    elif how == "POST partial payment":
        response = bill.pay("1")
    else:
        response = bill.change(how.split()[1])
    code = refused(response, 409)
    assert code != "InvoiceAlreadyPaid"
    assert bill.get() == before
    assert bill.ledger() == entries


def test_refusals_have_distinct_codes(api):
    paid = Bill(api, "10")
    assert paid.pay().status_code == 200
    cancelled = Bill(api, "10")
    assert cancelled.cancel().status_code == 200
    paid_code = refused(paid.cancel(), 409)
    cancelled_code = refused(cancelled.change("Opened"), 409)
    assert paid_code != cancelled_code
    assert "Paid" in paid_code and "Cancel" in cancelled_code


def test_invoice_of_another_account_or_store_is_404(api, other_api):
    bill = Bill(api, "10")
    stranger = open_account(api)
    refused(api.get(f"/accounts/{stranger['id']}/invoices/{bill.id}"), 404)
    refused(api.post(f"/accounts/{stranger['id']}/invoices/{bill.id}/payments"), 404)
    refused(api.delete(f"/accounts/{stranger['id']}/invoices/{bill.id}"), 404)
    refused(other_api.get(bill.path), 404)
    refused(other_api.post(f"{bill.path}/payments"), 404)
    refused(api.get(f"/accounts/{bill.account_id}/invoices/{bill.transaction_id}-02"), 404)
    assert bill.get()["status"] == "Opened"
    assert bill.balance() == dec("-10")


# --- partial payments ---------------------------------------------------------------------------


def test_partial_payments_track_credit_value_until_paid(api):
    bill = Bill(api, "30")
    first = bill.pay("10")
    assert_matches("post", f"{INVOICE}/payments", first)
    assert first.json()["status"] == "Opened"
    assert dec(first.json()["creditValue"]) == dec("10")
    assert first.json()["resolvedAt"] is None
    assert bill.balance() == dec("-20")

    second = bill.pay("20")
    assert second.json()["status"] == "Paid"
    assert dec(second.json()["creditValue"]) == dec("30")
    assert dec(second.json()["value"]) == dec("30")
    assert second.json()["resolvedAt"] is not None
    assert bill.balance() == 0
    assert bill.ledger() == [("Invoice", dec("-30")), ("Payment", dec("10")), ("Payment", dec("20"))]


def test_payment_without_body_pays_the_rest(api):
    bill = Bill(api, "30")
    assert bill.pay("12.34").status_code == 200
    rest = bill.pay()
    assert rest.json()["status"] == "Paid"
    assert dec(rest.json()["creditValue"]) == dec("30")
    assert bill.ledger()[-1] == ("Payment", dec("17.66"))
    assert bill.balance() == 0


def test_overpayment_is_refused(api):
    bill = Bill(api, "30")
    refused(bill.pay("30.01"), 409)
    assert bill.pay("10").status_code == 200
    refused(bill.pay("20.01"), 409)
    invoice = bill.get()
    assert invoice["status"] == "Opened"
    assert dec(invoice["creditValue"]) == dec("10")
    assert bill.balance() == dec("-20")


@pytest.mark.parametrize("value", ["0", "-5", "1.001", "abc"])
def test_partial_payment_must_be_a_positive_amount(api, value):
    bill = Bill(api, "30")
    refused(bill.pay(value), 400)
    assert bill.ledger() == [("Invoice", dec("-30"))]


def test_partial_payment_on_a_paid_invoice_is_refused(api):
    bill = Bill(api, "30")
    assert bill.pay().status_code == 200
    refused(bill.pay("1"), 409)
    assert bill.balance() == 0


def test_cancelling_a_partly_paid_invoice_releases_only_what_is_owed(api):
    bill = Bill(api, "30")
    assert bill.pay("10").status_code == 200
    assert bill.cancel().status_code == 200
    invoice = bill.get()
    assert invoice["status"] == "Cancelled"
    assert dec(invoice["creditValue"]) == dec("10")
    assert bill.balance() == 0
    assert bill.ledger()[-1] == ("Invoice", dec("20"))


def test_put_paid_on_a_partly_paid_invoice_pays_the_rest_and_reversal_gives_all_back(api):
    bill = Bill(api, "30")
    assert bill.pay("10").status_code == 200
    assert bill.change("Paid").status_code == 200
    assert bill.ledger()[-1] == ("Payment", dec("20"))
    assert bill.balance() == 0
    assert bill.change("Opened").status_code == 200
    assert bill.ledger()[-1] == ("Payment", dec("-30"))
    assert bill.balance() == dec("-30")
    assert dec(bill.get()["creditValue"]) == 0


# --- postponement -------------------------------------------------------------------------------


def allow_postponements(api, limit=3, days=30):
    configure(api, invoicePostponementLimit=limit, maxPostponementDays=days, postponementEnabled=True)


def test_postponement_moves_the_due_date_and_keeps_the_original(api):
    allow_postponements(api, limit=3, days=30)
    bill = Bill(api, "30")
    original = when(bill.get()["originalDueDate"])
    for total in (5, 15, 30):
        response = bill.postpone(total - (when(bill.get()["dueDate"]) - original).days)
        assert response.status_code == 200, response.text
        assert response.content == b""
        invoice = bill.get()
        assert when(invoice["dueDate"]) == original + timedelta(days=total)
        assert when(invoice["originalDueDate"]) == original
    assert bill.ledger() == [("Invoice", dec("-30"))]


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"postponementEnabled": False, "invoicePostponementLimit": 3, "maxPostponementDays": 30},
        {"postponementEnabled": True, "invoicePostponementLimit": 0, "maxPostponementDays": 30},
    ],
)
def test_postponement_disabled(api, config):
    if config:
        configure(api, **config)
    bill = Bill(api, "30")
    before = bill.get()
    refused(bill.postpone(5), 409, "PostponementDisabled")
    assert bill.get() == before


def test_postponement_limit_reached(api):
    allow_postponements(api, limit=2, days=30)
    bill = Bill(api, "30")
    assert bill.postpone(1).status_code == 200
    assert bill.postpone(1).status_code == 200
    before = bill.get()
    refused(bill.postpone(1), 409, "PostponementLimitReached")
    assert bill.get() == before


def test_postponement_too_long(api):
    allow_postponements(api, limit=3, days=10)
    bill = Bill(api, "30")
    original = when(bill.get()["dueDate"])
    refused(bill.postpone(11), 409, "PostponementTooLong")
    assert bill.postpone(6).status_code == 200
    # The limit counts from originalDueDate, over all postponements together.
    refused(bill.postpone(5), 409, "PostponementTooLong")
    assert bill.postpone(4).status_code == 200
    assert when(bill.get()["dueDate"]) == original + timedelta(days=10)


@pytest.mark.parametrize("state", ["Paid", "Cancelled"])
def test_postponement_of_an_invoice_not_opened(api, state):
    allow_postponements(api)
    bill = Bill(api, "30")
    assert bill.change(state).status_code == 200
    before = bill.get()
    refused(bill.postpone(5), 409, "InvoiceNotOpened")
    assert bill.get() == before


@pytest.mark.parametrize("days", [0, -1, 1.5, "x", None])
def test_postponement_needs_whole_days_of_at_least_one(api, days):
    allow_postponements(api)
    bill = Bill(api, "30")
    refused(bill.postpone(days), 400)


def test_postponement_refusal_codes_are_distinct(api):
    codes = set()
    bill = Bill(api, "30")
    codes.add(refused(bill.postpone(1), 409))
    allow_postponements(api, limit=1, days=5)
    codes.add(refused(bill.postpone(6), 409))
    assert bill.postpone(1).status_code == 200
    codes.add(refused(bill.postpone(1), 409))
    assert bill.pay().status_code == 200
    codes.add(refused(bill.postpone(1), 409))
    assert codes == {
        "PostponementDisabled",
        "PostponementTooLong",
        "PostponementLimitReached",
        "InvoiceNotOpened",
    }


# --- overdue ------------------------------------------------------------------------------------


def test_overdue_invoice_reports_days_and_interest_without_changing_value(api, database, store, frozen_clock):
    configure(api, dailyInterestRate="0.01")
    bill = Bill(api, "100")
    fresh = bill.get()
    assert fresh["daysOverdue"] == 0
    assert dec(fresh["interest"]) == 0

    due = datetime(2026, 3, 1, 21, 0, tzinfo=UTC)
    frozen_clock.set(due + timedelta(days=10, hours=2))  # 10 calendar days later, 23:00 (UTC store)
    set_invoice(database, store, bill.id, due_at=due, original_due_at=due)
    invoice = bill.get()
    assert invoice["status"] == "Opened"
    assert invoice["daysOverdue"] == 10
    # Simple interest: 100 × 0.01 × 10 days.
    assert dec(invoice["interest"]) == dec("10")
    assert dec(invoice["value"]) == dec("100")
    listed = api.get(f"/accounts/{bill.account_id}/invoices").json()
    assert listed["data"][0]["daysOverdue"] == 10
    assert dec(listed["summary"]["total"]) == dec("100")
    assert bill.balance() == dec("-100")

    # On a partly paid invoice the interest runs on what is still owed.
    assert bill.pay("40").status_code == 200
    assert dec(bill.get()["interest"]) == dec("6")
    # A paid invoice is not overdue any more.
    assert bill.pay().status_code == 200
    assert bill.get()["daysOverdue"] == 0
    assert dec(bill.get()["interest"]) == 0
    assert bill.balance() == 0


def test_overdue_without_interest_rate_reports_zero_interest(api, database, store, frozen_clock):
    bill = Bill(api, "100")
    due = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    frozen_clock.set(due + timedelta(days=3, minutes=1))
    set_invoice(database, store, bill.id, due_at=due)
    invoice = bill.get()
    assert invoice["daysOverdue"] == 3
    assert dec(invoice["interest"]) == 0


# --- change: observation and paymentLink --------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    ["javascript:alert(1)", "ftp://example.com/pay", "/relative/pay", "https://", "data:text/html,hi", ""],
)
def test_payment_link_must_be_an_absolute_http_url(api, link):
    bill = Bill(api, "30")
    refused(bill.change("Opened", paymentLink=link), 400)
    assert bill.get()["paymentLink"] is None


@pytest.mark.parametrize("link", ["https://paymentlink.com", "http://pay.example.com/a?b=c#d"])
def test_payment_link_http_and_https_are_kept(api, link):
    bill = Bill(api, "30")
    assert bill.change("Opened", paymentLink=link).status_code == 200
    assert bill.get()["paymentLink"] == link


def test_observation_set_kept_and_cleared(api):
    bill = Bill(api, "30")
    longest = "x" * 1000
    assert (
        bill.change("Opened", observation=longest, paymentLink="https://pay.example.com").status_code == 200
    )
    assert bill.get()["observation"] == longest

    refused(bill.change("Opened", observation="y" * 1001), 400)
    assert bill.get()["observation"] == longest

    # Absent: kept (also across a state change).
    assert bill.change("Paid").status_code == 200
    invoice = bill.get()
    assert invoice["observation"] == longest
    assert invoice["paymentLink"] == "https://pay.example.com"

    # null: cleared, one field at a time.
    assert bill.change("Paid", observation=None).status_code == 200
    invoice = bill.get()
    assert invoice["observation"] is None
    assert invoice["paymentLink"] == "https://pay.example.com"
    assert bill.change("Paid", paymentLink=None).status_code == 200
    assert bill.get()["paymentLink"] is None
    # Repeating Paid wrote no second payment.
    assert bill.ledger() == [("Invoice", dec("-30")), ("Payment", dec("30"))]


def test_change_needs_a_valid_status(api):
    bill = Bill(api, "30")
    refused(api.put(bill.path, json={"observation": "no status"}), 400)
    refused(bill.change("Expired"), 400)
    refused(bill.change("opened"), 400)
    assert bill.get()["observation"] is None


def test_observation_on_a_cancelled_invoice_with_its_own_status(api):
    bill = Bill(api, "30")
    assert bill.cancel().status_code == 200
    assert bill.change("Cancelled", observation="order returned").status_code == 200
    assert bill.get()["observation"] == "order returned"


# --- search -------------------------------------------------------------------------------------


@pytest.fixture
def catalogue(api, database, store):
    """Four one-installment invoices on two accounts, with created/due dates and observations set
    so that every filter has something to tell apart. Created in an order that is not the
    createdAt order, so that ordering by createdAt is visible."""
    first = open_account(api)["id"]
    second = open_account(api)["id"]
    plan = [
        # name, account, value, createdAt, dueDate, observation, status
        ("d", second, "10", utc(2024, 3, 4, 12), utc(2024, 4, 2), None, "Opened"),
        ("b", first, "20", utc(2024, 3, 2, 23, 59, 59), utc(2024, 4, 1), "under_score", "Paid"),
        ("a", first, "10", utc(2024, 3, 1, 10), utc(2024, 3, 31, 10), "Black Friday 100% off", "Opened"),
        ("c", second, "30", utc(2024, 3, 3), utc(2024, 4, 1, 23, 59, 59, 500000), "plain", "Cancelled"),
    ]
    made = {}
    for name, account_id, value, created, due, observation, status in plan:
        invoice_id = f"{purchase(api, account_id, value)}-01"
        path = f"/accounts/{account_id}/invoices/{invoice_id}"
        body = {"status": status}
        if observation is not None:
            body["observation"] = observation
        assert api.put(path, json=body).status_code == 200
        set_invoice(database, store, invoice_id, created_at=created, due_at=due, original_due_at=due)
        made[name] = {
            "id": invoice_id,
            "account": account_id,
            "friendlyId": api.get(path).json()["friendlyId"],
        }
    return made


def found(api, path=ALL_INVOICES, **params) -> list[str]:
    response = api.get(path, params=params)
    assert_matches("get", ALL_INVOICES if path == ALL_INVOICES else ACCOUNT_INVOICES, response)
    assert response.json()["summary"]["count"] == len(response.json()["data"])
    return [invoice["id"] for invoice in response.json()["data"]]


def names(catalogue, *wanted) -> list[str]:
    return [catalogue[name]["id"] for name in wanted]


def test_search_is_oldest_first_with_the_summary_of_all_matches(api, catalogue):
    assert found(api) == names(catalogue, "a", "b", "c", "d")
    response = api.get("/invoices", params={"from": 2, "to": 3})
    assert_matches("get", ALL_INVOICES, response)
    assert [i["id"] for i in response.json()["data"]] == names(catalogue, "b", "c")
    summary = response.json()["summary"]
    assert summary["count"] == 4
    assert dec(summary["total"]) == dec("20")
    assert dec(summary["totalPaid"]) == dec("20")
    assert dec(summary["totalCancelled"]) == dec("30")
    assert [i["id"] for i in api.get("/invoices", params={"from": 4}).json()["data"]] == names(catalogue, "d")
    assert api.get("/invoices", params={"from": 5, "to": 10}).json()["data"] == []


def test_search_ties_on_created_at_go_by_id(api):
    opened = open_account(api)
    transaction_id = purchase(api, opened["id"], "9", installments=3)
    assert found(api) == [f"{transaction_id}-0{k}" for k in (1, 2, 3)]


def test_search_filters_by_created_date(api, catalogue):
    assert found(api, createdDateFrom="2024-03-02") == names(catalogue, "b", "c", "d")
    # A date alone as the upper bound covers the whole day.
    assert found(api, createdDateTo="2024-03-02") == names(catalogue, "a", "b")
    assert found(api, createDateTo="2024-03-02") == names(catalogue, "a", "b")
    assert found(api, createdDateFrom="2024-03-02", createdDateTo="2024-03-03") == names(catalogue, "b", "c")
    # Date-times are inclusive on both ends.
    assert found(api, createdDateFrom="2024-03-02T23:59:59Z", createdDateTo="2024-03-03T00:00:00Z") == names(
        catalogue, "b", "c"
    )
    assert found(api, createdDateFrom="2024-03-05") == []


def test_search_filters_by_due_date(api, catalogue):
    assert found(api, dueDateFrom="2024-04-01", dueDateTo="2024-04-01") == names(catalogue, "b", "c")
    assert found(api, dueDateTo="2024-03-31") == names(catalogue, "a")
    assert found(api, dueDateFrom="2024-04-02") == names(catalogue, "d")
    assert found(api, dueDateFrom="2024-04-01T12:00:00Z") == names(catalogue, "c", "d")


def test_search_filters_by_value_status_friendly_id_and_account(api, catalogue):
    assert found(api, value="10") == names(catalogue, "a", "d")
    assert found(api, value="10.00") == names(catalogue, "a", "d")
    assert found(api, value="10.01") == []
    assert found(api, status="Paid") == names(catalogue, "b")
    assert found(api, status="Cancelled") == names(catalogue, "c")
    assert found(api, status="Opened") == names(catalogue, "a", "d")
    assert found(api, friendlyId=catalogue["c"]["friendlyId"]) == names(catalogue, "c")
    assert found(api, creditAccountId=catalogue["c"]["account"]) == names(catalogue, "c", "d")
    assert found(api, creditAccountId="nobody_CPF") == []


def test_search_observation_is_a_case_insensitive_literal_substring(api, catalogue):
    assert found(api, observation="BLACK friday") == names(catalogue, "a")
    assert found(api, observation="100%") == names(catalogue, "a")
    assert found(api, observation="%") == names(catalogue, "a")
    assert found(api, observation="_") == names(catalogue, "b")
    assert found(api, observation="r_s") == names(catalogue, "b")
    assert found(api, observation="PLAIN") == names(catalogue, "c")
    assert found(api, observation="nothing like it") == []


def test_search_combines_filters_with_and_or_or(api, catalogue):
    second = catalogue["c"]["account"]
    assert found(api, status="Cancelled", creditAccountId=second) == names(catalogue, "c")
    assert found(api, status="Paid", creditAccountId=second) == []
    assert found(api, status="Paid", creditAccountId=second, op="and") == []
    assert found(api, status="Paid", creditAccountId=second, op="or") == names(catalogue, "b", "c", "d")
    assert found(api, value="20", observation="plain", op="or") == names(catalogue, "b", "c")
    response = api.get("/invoices", params={"status": "Paid", "creditAccountId": second, "op": "or"})
    summary = response.json()["summary"]
    assert summary["count"] == 3
    assert dec(summary["total"]) == dec("10")
    assert dec(summary["totalPaid"]) == dec("20")
    assert dec(summary["totalCancelled"]) == dec("30")


def test_account_invoices_take_the_same_filters(api, catalogue):
    first = catalogue["a"]["account"]
    path = f"{ACCOUNTS}/{first}/invoices"
    assert found(api, path) == names(catalogue, "a", "b")
    assert found(api, path, status="Paid") == names(catalogue, "b")
    assert found(api, path, createDateTo="2024-03-01") == names(catalogue, "a")
    assert found(api, path, value="30") == []
    assert found(api, path, observation="OFF", op="or", status="Paid") == names(catalogue, "a", "b")
    response = api.get(f"/accounts/{first}/invoices", params={"from": 2, "to": 2})
    assert [i["id"] for i in response.json()["data"]] == names(catalogue, "b")
    summary = response.json()["summary"]
    assert summary["count"] == 2
    assert dec(summary["total"]) == dec("10")
    assert dec(summary["totalPaid"]) == dec("20")
    assert dec(summary["totalCancelled"]) == 0


def test_search_never_shows_another_store(api, other_api, catalogue):
    response = other_api.get("/invoices")
    assert_matches("get", ALL_INVOICES, response)
    assert response.json()["data"] == []
    assert response.json()["summary"]["count"] == 0
    refused(other_api.get(f"/accounts/{catalogue['a']['account']}/invoices"), 404)


@pytest.mark.parametrize(
    "params",
    [
        {"createdDateFrom": "yesterday"},
        {"createdDateTo": "2024-13-01"},
        {"createDateTo": "2024-02-30"},
        {"dueDateFrom": "2024-04-01T25:00:00Z"},
        {"dueDateTo": "not a date"},
        {"value": "abc"},
        {"value": "1.234"},
        {"value": "NaN"},
        {"status": "Open"},
        {"status": "paid"},
        {"op": "xor"},
        {"from": "0"},
        {"from": "a"},
        {"from": "1", "to": "1001"},
    ],
)
def test_malformed_search_parameters_are_400(api, params):
    refused(api.get("/invoices", params=params), 400)
    opened = open_account(api)
    refused(api.get(f"/accounts/{opened['id']}/invoices", params=params), 400)
