"""Statements: the Credit entries of limit and tolerance changes with the values of domain.md,
the three balances, the optional date window and paging, and the idempotent manual debit."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.contract import assert_matches, is_error_shape
from tests.helpers import configure, hold, open_account, purchase

STATEMENTS = "/api/creditcontrol/accounts/{creditAccountId}/statements"
DECREASE = "/api/creditcontrol/accounts/{creditAccountId}/statements/{statementId}"


def exact(response):
    return json.loads(response.text, parse_float=Decimal)


def statements(api, account_id: str, **params) -> dict:
    response = api.get(f"/accounts/{account_id}/statements", params=params)
    assert_matches("get", STATEMENTS, response)
    return exact(response)


def figures(api, account_id: str) -> dict:
    response = api.get(f"/accounts/{account_id}")
    assert response.status_code == 200, response.text
    return exact(response)


def change_limit(api, account_id: str, value) -> dict:
    response = api.put(f"/accounts/{account_id}/creditlimit", json={"value": value})
    assert response.status_code == 200, response.text
    return exact(response)


def change_tolerance(api, account_id: str, value) -> dict:
    response = api.put(f"/accounts/{account_id}/tolerance", json={"value": value})
    assert response.status_code == 200, response.text
    return exact(response)


def debit(api, account_id: str, value, statement_id: str | None = None):
    return api.put(
        f"/accounts/{account_id}/statements/{statement_id or uuid.uuid4().hex}", json={"value": value}
    )


def parse_date(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- Credit entries ------------------------------------------------------------------------


def test_guide_example_limit_decrease_with_tolerance(api):
    """The official guide: limit 10,000 → 9,000 with 10 % tolerance writes −1,100."""
    opened = open_account(api, credit_limit="10000", tolerance="0.1")
    after = change_limit(api, opened["id"], 9000)
    assert after["creditLimit"] == Decimal("9000")
    assert after["balance"] == 0
    assert after["availableCredit"] == Decimal("9000")

    page = statements(api, opened["id"])
    assert len(page["statements"]) == 1
    entry = page["statements"][0]
    assert entry["origin"] == "Credit"
    assert entry["value"] == Decimal("-1100")
    assert entry["doneby"] == api.headers["X-VTEX-API-AppKey"]
    # A Credit entry does not move the balance, but it counts in the interval.
    assert page["currentBalance"] == 0
    assert page["previousBalance"] == 0
    assert page["intervalBalance"] == Decimal("-1100")


@pytest.mark.parametrize(
    ("limit", "tolerance", "new_limit", "expected"),
    [
        ("9000", "0.25", "12000", "3750"),  # (12000 − 9000) × 1.25
        ("1000", "0", "1500.50", "500.50"),
        ("500", "0.2", "0", "-600"),
        ("100.10", "1", "50.05", "-100.10"),
        ("1000", "0.0333", "1000.03", "0.03"),  # 0.03 × 1.0333 = 0.030999 → 0.03
    ],
)
def test_credit_limit_change_entry(api, limit, tolerance, new_limit, expected):
    opened = open_account(api, credit_limit=limit, tolerance=tolerance)
    change_limit(api, opened["id"], new_limit)
    entries = statements(api, opened["id"])["statements"]
    assert [(entry["origin"], entry["value"]) for entry in entries] == [("Credit", Decimal(expected))]


@pytest.mark.parametrize(
    ("limit", "tolerance", "new_tolerance", "expected"),
    [
        ("9000", "0.1", "0.25", "1350"),  # 9000 × 0.15
        ("10000", "0.3", "0.05", "-2500"),
        ("1234.56", "0", "0.05", "61.73"),  # 61.728 → 61.73
        ("0", "0", "0.5", "0"),
        ("200", "0.5", "1", "100"),
    ],
)
def test_tolerance_change_entry(api, limit, tolerance, new_tolerance, expected):
    opened = open_account(api, credit_limit=limit, tolerance=tolerance)
    after = change_tolerance(api, opened["id"], new_tolerance)
    assert after["tolerance"] == Decimal(new_tolerance)
    entries = statements(api, opened["id"])["statements"]
    if Decimal(expected) == 0:
        assert all(entry["value"] == 0 for entry in entries)
    else:
        assert [(entry["origin"], entry["value"]) for entry in entries] == [("Credit", Decimal(expected))]


def test_sequence_of_changes_uses_current_values(api):
    opened = open_account(api, credit_limit="10000", tolerance="0.1")
    change_limit(api, opened["id"], "9000")  # −1000 × 1.1 = −1100
    change_tolerance(api, opened["id"], "0.2")  # 9000 × 0.1 = 900
    change_limit(api, opened["id"], "9500")  # 500 × 1.2 = 600
    change_tolerance(api, opened["id"], "0")  # 9500 × −0.2 = −1900
    page = statements(api, opened["id"])
    assert [entry["value"] for entry in page["statements"]] == [
        Decimal("-1100"),
        Decimal("900"),
        Decimal("600"),
        Decimal("-1900"),
    ]
    assert {entry["origin"] for entry in page["statements"]} == {"Credit"}
    assert page["intervalBalance"] == Decimal("-1500")
    assert page["currentBalance"] == 0
    account = figures(api, opened["id"])
    assert account["creditLimit"] == Decimal("9500")
    assert account["tolerance"] == 0
    assert account["balance"] == 0


# --- balances, order, contract -------------------------------------------------------------


def test_entries_oldest_first_with_all_origins_and_balances(api):
    opened = open_account(api, credit_limit="1000", tolerance="0.1")
    account_id = opened["id"]
    change_limit(api, account_id, "2000")  # Credit +1100
    transaction_id = purchase(api, account_id, "100.50", installments=2)  # Invoice −100.50
    paid = api.post(f"/accounts/{account_id}/invoices/{transaction_id}-01/payments")  # Payment +50.25
    assert paid.status_code == 200, paid.text
    assert debit(api, account_id, "-15").status_code == 200  # Statement −15

    page = statements(api, account_id)
    rows = page["statements"]
    assert [entry["origin"] for entry in rows] == ["Credit", "Invoice", "Payment", "Statement"]
    assert [entry["value"] for entry in rows] == [
        Decimal("1100"),
        Decimal("-100.50"),
        Decimal("50.25"),
        Decimal("-15"),
    ]
    dates = [parse_date(entry["date"]) for entry in rows]
    assert dates == sorted(dates)
    assert rows[1]["metadata"]["transactionId"] == transaction_id
    assert rows[1]["metadata"]["numberOfInstallments"] == 2
    assert rows[2]["metadata"]["transactionId"] == transaction_id
    assert rows[2]["metadata"]["installment"] == 1
    assert all(entry["doneby"] == api.headers["X-VTEX-API-AppKey"] for entry in rows)

    # currentBalance is B now: the non-Credit entries, and it is the account's balance.
    assert page["currentBalance"] == Decimal("-65.25")
    assert page["previousBalance"] == 0
    assert page["intervalBalance"] == Decimal("1034.75")
    account = figures(api, account_id)
    assert account["balance"] == Decimal("-65.25")
    assert account["availableBalance"] == Decimal("1934.75")
    assert account["availableCredit"] == Decimal("1934.75")


def test_statement_of_a_new_account_is_empty(api):
    opened = open_account(api)
    page = statements(api, opened["id"])
    assert page["statements"] == []
    assert page["currentBalance"] == 0
    assert page["previousBalance"] == 0
    assert page["intervalBalance"] == 0


def test_holds_write_no_entry(api):
    opened = open_account(api, credit_limit="500")
    assert hold(api, opened["id"], "40", settle=False).status_code == 200
    assert statements(api, opened["id"])["statements"] == []
    assert figures(api, opened["id"])["preAuthorizedCredit"] == Decimal("40")


# --- date window ---------------------------------------------------------------------------


@pytest.fixture
def five_entries(api, frozen_clock):
    """Credit +500, Statement −10, Statement −20, Credit −100, Statement −30 (B = −60), a minute
    apart, so each entry's date names a moment of its own."""
    opened = open_account(api, credit_limit="1000")
    account_id = opened["id"]
    limit = f"/accounts/{account_id}/creditlimit"
    steps = [
        lambda: api.put(limit, json={"value": "1500"}),
        lambda: debit(api, account_id, "-10"),
        lambda: debit(api, account_id, "-20"),
        lambda: api.put(limit, json={"value": "1400"}),
        lambda: debit(api, account_id, "-30"),
    ]
    for step in steps:
        frozen_clock.set(frozen_clock() + timedelta(minutes=1))
        response = step()
        assert response.status_code == 200, response.text
    rows = statements(api, account_id)["statements"]
    assert [entry["value"] for entry in rows] == [
        Decimal("500"),
        Decimal("-10"),
        Decimal("-20"),
        Decimal("-100"),
        Decimal("-30"),
    ]
    return account_id, rows


def test_window_from_a_moment(api, five_entries):
    account_id, rows = five_entries
    page = statements(api, account_id, dateFrom=rows[2]["date"])
    assert [entry["value"] for entry in page["statements"]] == [
        Decimal("-20"),
        Decimal("-100"),
        Decimal("-30"),
    ]
    assert page["previousBalance"] == Decimal("-10")  # B before the window: Credit excluded
    assert page["intervalBalance"] == Decimal("-150")  # Credit included
    assert page["currentBalance"] == Decimal("-60")


def test_window_between_two_moments(api, five_entries):
    account_id, rows = five_entries
    page = statements(api, account_id, dateFrom=rows[1]["date"], dateTo=rows[3]["date"])
    assert [entry["value"] for entry in page["statements"]] == [
        Decimal("-10"),
        Decimal("-20"),
        Decimal("-100"),
    ]
    assert page["previousBalance"] == 0
    assert page["intervalBalance"] == Decimal("-130")
    assert page["currentBalance"] == Decimal("-60")


def test_window_up_to_a_moment(api, five_entries):
    account_id, rows = five_entries
    page = statements(api, account_id, dateTo=rows[1]["date"])
    assert [entry["value"] for entry in page["statements"]] == [Decimal("500"), Decimal("-10")]
    assert page["previousBalance"] == 0
    assert page["intervalBalance"] == Decimal("490")
    assert page["currentBalance"] == Decimal("-60")


def test_a_date_alone_means_the_whole_day(api, five_entries):
    account_id, rows = five_entries
    first_day = parse_date(rows[0]["date"]).date()
    last_day = parse_date(rows[-1]["date"]).date()
    whole = statements(api, account_id, dateFrom=first_day.isoformat(), dateTo=last_day.isoformat())
    assert [entry["value"] for entry in whole["statements"]] == [entry["value"] for entry in rows]
    assert whole["intervalBalance"] == Decimal("340")
    assert whole["previousBalance"] == 0

    before = statements(api, account_id, dateTo=(first_day - timedelta(days=1)).isoformat())
    assert before["statements"] == []
    assert before["intervalBalance"] == 0
    assert before["currentBalance"] == Decimal("-60")

    after = statements(api, account_id, dateFrom=(last_day + timedelta(days=1)).isoformat())
    assert after["statements"] == []
    assert after["intervalBalance"] == 0
    assert after["previousBalance"] == Decimal("-60")
    assert after["currentBalance"] == Decimal("-60")


def test_previous_plus_interval_matches_current_without_credit(api, five_entries):
    account_id, rows = five_entries
    for index in range(len(rows)):
        page = statements(api, account_id, dateFrom=rows[index]["date"])
        non_credit = sum(
            (entry["value"] for entry in page["statements"] if entry["origin"] != "Credit"), Decimal(0)
        )
        assert page["previousBalance"] + non_credit == page["currentBalance"]


# --- paging --------------------------------------------------------------------------------


def test_paging_slices_the_entries_oldest_first(api, five_entries):
    account_id, rows = five_entries
    unpaged = statements(api, account_id)
    page = statements(api, account_id, **{"from": 2, "to": 3})
    assert [entry["value"] for entry in page["statements"]] == [Decimal("-10"), Decimal("-20")]
    assert page["statements"] == unpaged["statements"][1:3]
    # The balances describe the (date) window, not the page.
    for name in ("currentBalance", "previousBalance", "intervalBalance"):
        assert page[name] == unpaged[name]
    tail = statements(api, account_id, **{"from": 4, "to": 100})
    assert tail["statements"] == unpaged["statements"][3:]
    assert statements(api, account_id, **{"from": 6, "to": 10})["statements"] == []


def test_paging_combines_with_a_date_window(api, five_entries):
    account_id, rows = five_entries
    page = statements(api, account_id, dateFrom=rows[1]["date"], **{"from": 2, "to": 2})
    assert [entry["value"] for entry in page["statements"]] == [Decimal("-20")]
    assert page["previousBalance"] == 0
    assert page["intervalBalance"] == Decimal("-160")


def test_paging_window_limit(api, five_entries):
    account_id, _ = five_entries
    assert len(statements(api, account_id, **{"from": 1, "to": 1000})["statements"]) == 5
    response = api.get(f"/accounts/{account_id}/statements", params={"from": 1, "to": 1001})
    assert response.status_code == 400
    assert is_error_shape(response)


# --- decrease balance ----------------------------------------------------------------------


def test_decrease_balance_with_the_guides_body(api):
    opened = open_account(api, credit_limit="100")
    statement_id = uuid.uuid4().hex
    response = debit(api, opened["id"], "-15", statement_id)
    assert_matches("put", DECREASE, response)
    assert isinstance(response.json()["value"], str)
    assert Decimal(response.json()["value"]) == Decimal("-15")

    account = figures(api, opened["id"])
    assert account["balance"] == Decimal("-15")
    assert account["availableBalance"] == Decimal("85")
    assert account["availableCredit"] == Decimal("85")
    page = statements(api, opened["id"])
    assert len(page["statements"]) == 1
    entry = page["statements"][0]
    assert entry["origin"] == "Statement"
    assert entry["value"] == Decimal("-15")
    assert entry["metadata"]["statementId"] == statement_id
    assert entry["doneby"] == api.headers["X-VTEX-API-AppKey"]
    assert page["currentBalance"] == Decimal("-15")


def test_decrease_balance_accepts_numbers_and_cents(api):
    opened = open_account(api, credit_limit="100")
    response = debit(api, opened["id"], -0.99)
    assert_matches("put", DECREASE, response)
    assert Decimal(response.json()["value"]) == Decimal("-0.99")
    assert figures(api, opened["id"])["balance"] == Decimal("-0.99")


def test_decrease_balance_never_raises_the_balance(api):
    opened = open_account(api, credit_limit="100")
    response = debit(api, opened["id"], "15")
    assert response.status_code == 200, response.text
    assert figures(api, opened["id"])["balance"] == Decimal("-15")


def test_decrease_balance_may_exceed_the_limit(api):
    """A manual debit records a debt the customer has; it is not a purchase on credit."""
    opened = open_account(api, credit_limit="10")
    response = debit(api, opened["id"], "-25")
    assert response.status_code == 200, response.text
    account = figures(api, opened["id"])
    assert account["balance"] == Decimal("-25")
    assert account["availableCredit"] == Decimal("-15")


def test_decrease_balance_is_idempotent_on_statement_id(api):
    opened = open_account(api, credit_limit="100")
    statement_id = f"erp-{uuid.uuid4().hex[:10]}"
    first = debit(api, opened["id"], "-15", statement_id)
    assert first.status_code == 200, first.text
    repeat = debit(api, opened["id"], "-15", statement_id)
    assert_matches("put", DECREASE, repeat)
    assert repeat.json() == first.json()
    same_amount_other_form = debit(api, opened["id"], -15.00, statement_id)
    assert same_amount_other_form.json() == first.json()

    entries = statements(api, opened["id"])["statements"]
    assert len(entries) == 1
    assert figures(api, opened["id"])["balance"] == Decimal("-15")

    reused = debit(api, opened["id"], "-16", statement_id)
    assert reused.status_code == 409
    assert is_error_shape(reused)
    assert reused.json()["error"]["code"] == "StatementIdReused"
    assert len(statements(api, opened["id"])["statements"]) == 1
    assert figures(api, opened["id"])["balance"] == Decimal("-15")

    another = debit(api, opened["id"], "-15", statement_id + "-2")
    assert another.status_code == 200
    assert figures(api, opened["id"])["balance"] == Decimal("-30")


def test_statement_ids_are_per_account(api):
    first = open_account(api, credit_limit="100")
    second = open_account(api, credit_limit="100")
    assert debit(api, first["id"], "-5", "shared-id").status_code == 200
    response = debit(api, second["id"], "-7", "shared-id")
    assert response.status_code == 200, response.text
    assert figures(api, first["id"])["balance"] == Decimal("-5")
    assert figures(api, second["id"])["balance"] == Decimal("-7")


def test_decrease_balance_on_closed_account_is_refused(api):
    opened = open_account(api, credit_limit="100")
    assert api.delete(f"/accounts/{opened['id']}").status_code == 200
    response = debit(api, opened["id"], "-5")
    assert response.status_code in (404, 409)
    assert is_error_shape(response)


def test_stored_figures_equal_the_entries(api, database):
    """After a mix of operations, the account's figures are what its entries and holds give."""
    from customer_credit.ledger.service import recompute_mismatches

    configure(api, toleranceEnabled=True)
    opened = open_account(api, credit_limit="300", tolerance="0.5")
    account_id = opened["id"]
    transaction_id = purchase(api, account_id, "120", installments=3)
    assert api.delete(f"/accounts/{account_id}/invoices/{transaction_id}-03").status_code == 200
    assert hold(api, account_id, "200", settle=False).status_code == 200
    change_limit(api, account_id, "250")
    assert debit(api, account_id, "-12.34").status_code == 200
    change_tolerance(api, account_id, "0.1")

    page = statements(api, account_id)
    balance = sum((e["value"] for e in page["statements"] if e["origin"] != "Credit"), Decimal(0))
    account = figures(api, account_id)
    assert account["balance"] == balance == page["currentBalance"] == Decimal("-92.34")
    assert account["preAuthorizedCredit"] == Decimal("200")
    assert account["availableBalance"] == account["creditLimit"] + account["balance"]
    assert account["availableCredit"] == (
        account["creditLimit"] + account["balance"] - account["preAuthorizedCredit"]
    )
    with database.read() as session:
        assert recompute_mismatches(session, api.store.id) == []


def test_today_window_includes_todays_entries(api):
    opened = open_account(api, credit_limit="100")
    assert debit(api, opened["id"], "-1").status_code == 200
    entry_day = parse_date(statements(api, opened["id"])["statements"][0]["date"]).date()
    page = statements(api, opened["id"], dateFrom=entry_day.isoformat(), dateTo=entry_day.isoformat())
    assert [entry["value"] for entry in page["statements"]] == [Decimal("-1")]


def test_an_entry_that_waited_behind_a_later_one_sorts_after_it(api, frozen_clock):
    """Two changes of one account race: the one that read the earlier clock waited for the
    account's lock and commits second. Its entry is stamped no earlier than the entry already
    committed, so it comes after it in every listing and a client walking the statement pages
    by cursor does not miss it."""
    later, earlier = datetime(2030, 5, 1, 12, 0, 5, tzinfo=UTC), datetime(2030, 5, 1, 12, 0, 1, tzinfo=UTC)
    frozen_clock.set(datetime(2030, 5, 1, 11, 0, tzinfo=UTC))
    account_id = open_account(api, credit_limit="1000")["id"]
    frozen_clock.set(later)
    assert debit(api, account_id, "-10").status_code == 200
    first_page = statements(api, account_id)
    frozen_clock.set(earlier)  # the request that waited: its clock was read before the other's
    assert debit(api, account_id, "-20").status_code == 200

    rows = statements(api, account_id)["statements"]
    assert [entry["value"] for entry in rows] == [Decimal("-10"), Decimal("-20")]
    assert parse_date(rows[1]["date"]) == later  # no earlier than the entry committed before it
    # What the first reader saw is still the start of the ledger; the new entry follows it.
    assert rows[: len(first_page["statements"])] == first_page["statements"]
    after = statements(api, account_id, dateFrom=first_page["statements"][-1]["date"])["statements"]
    assert after[-1]["value"] == Decimal("-20")
