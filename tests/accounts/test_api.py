"""Accounts and holders through HTTP: every operation's success path, with the body checked
against the official contract, and the account rules of domain.md (defaults, numeric strings,
search paging and filters, update, close, re-open, holders)."""

import json
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select

from customer_credit.accounts.models import Account, Holder
from customer_credit.ledger.models import Statement
from tests.contract import assert_matches, is_error_shape
from tests.helpers import account, configure, hold, open_account, purchase

ACCOUNTS = "/api/creditcontrol/accounts"
ACCOUNT = "/api/creditcontrol/accounts/{creditAccountId}"
HOLDERS = "/api/creditcontrol/accounts/{creditAccountId}/holders"
HOLDER = "/api/creditcontrol/accounts/{creditAccountId}/holders/{holderId}"
CREDIT_LIMIT = "/api/creditcontrol/accounts/{creditAccountId}/creditlimit"
TOLERANCE = "/api/creditcontrol/accounts/{creditAccountId}/tolerance"


def exact(response):
    """The body with every JSON number as an exact Decimal (never a binary float)."""
    return json.loads(response.text, parse_float=Decimal)


def new_document() -> str:
    return str(uuid.uuid4().int)[:11]


def statements(api, account_id: str) -> list[dict]:
    response = api.get(f"/accounts/{account_id}/statements")
    assert response.status_code == 200, response.text
    return exact(response)["statements"]


def search(api, **params):
    response = api.get("/accounts", params=params)
    assert_matches("get", ACCOUNTS, response)
    return exact(response)


def error_code(response) -> str:
    assert is_error_shape(response), response.text
    return response.json()["error"]["code"]


# --- open ----------------------------------------------------------------------------------


def test_open_accepts_numeric_strings_and_returns_exact_figures(api):
    document = new_document()
    response = api.post(
        "/accounts",
        json={
            "document": document,
            "documentType": "CPF",
            "email": f"{document}@example.com",
            "creditLimit": "3000",
            "tolerance": "0.05",
        },
    )
    assert_matches("post", ACCOUNTS, response)
    body = exact(response)
    assert body["id"] == f"{document}_CPF"
    assert body["document"] == document
    assert body["documentType"] == "CPF"
    assert body["email"] == f"{document}@example.com"
    assert body["status"] == "Open"
    assert body["creditLimit"] == Decimal("3000")
    assert body["tolerance"] == Decimal("0.05")
    assert body["balance"] == 0
    assert body["preAuthorizedCredit"] == 0
    assert body["availableBalance"] == Decimal("3000")
    assert body["availableCredit"] == Decimal("3000")
    # Opening an account writes no ledger entry.
    assert statements(api, body["id"]) == []


def test_open_accepts_json_numbers_with_cents(api):
    opened = open_account(api, credit_limit=1234.56, tolerance=0.1)
    body = exact(api.get(f"/accounts/{opened['id']}"))
    assert body["creditLimit"] == Decimal("1234.56")
    assert body["tolerance"] == Decimal("0.1")


def test_open_without_limit_and_tolerance_uses_store_default(api):
    configure(api, defaultCreditValue="250.50")
    document = new_document()
    response = api.post(
        "/accounts",
        json={"document": document, "documentType": "CNPJ", "email": f"{document}@example.com"},
    )
    assert_matches("post", ACCOUNTS, response)
    body = exact(response)
    assert body["id"] == f"{document}_CNPJ"
    assert body["creditLimit"] == Decimal("250.50")
    assert body["tolerance"] == 0
    assert body["availableCredit"] == Decimal("250.50")


def test_open_without_limit_in_unconfigured_store_gets_zero(api):
    document = new_document()
    response = api.post(
        "/accounts",
        json={"document": document, "documentType": "Other", "email": f"{document}@example.com"},
    )
    assert_matches("post", ACCOUNTS, response)
    assert exact(response)["creditLimit"] == 0
    assert exact(response)["tolerance"] == 0


def test_duplicate_open_is_409_and_keeps_the_first(api):
    first = open_account(api, credit_limit="500")
    again = api.post(
        "/accounts",
        json={
            "document": first["document"],
            "documentType": "CPF",
            "email": "someone.else@example.com",
            "creditLimit": "9999",
        },
    )
    assert again.status_code == 409
    assert error_code(again) == "AccountAlreadyExists"
    kept = exact(api.get(f"/accounts/{first['id']}"))
    assert kept["creditLimit"] == Decimal("500")
    assert kept["email"] == first["email"]
    # The same document with another document type is another account.
    other_type = api.post(
        "/accounts",
        json={"document": first["document"], "documentType": "CNPJ", "email": first["email"]},
    )
    assert other_type.status_code == 200, other_type.text
    assert other_type.json()["id"] == f"{first['document']}_CNPJ"


# --- retrieve ------------------------------------------------------------------------------


def test_retrieve_account(api):
    opened = open_account(api, credit_limit="700.25", tolerance="0.2")
    response = api.get(f"/accounts/{opened['id']}")
    assert_matches("get", ACCOUNT, response)
    body = exact(response)
    assert body["id"] == opened["id"]
    assert body["creditLimit"] == Decimal("700.25")
    assert body["tolerance"] == Decimal("0.2")
    assert body["createdAt"] == opened["createdAt"]


def test_account_figures_follow_holds_and_settlements(api):
    opened = open_account(api, credit_limit="1000")
    held = hold(api, opened["id"], "100.10", settle=True)
    assert held.status_code == 200, held.text
    after_hold = exact(api.get(f"/accounts/{opened['id']}"))
    assert after_hold["preAuthorizedCredit"] == Decimal("100.10")
    assert after_hold["balance"] == 0
    assert after_hold["availableBalance"] == Decimal("1000")
    assert after_hold["availableCredit"] == Decimal("899.90")
    settled = api.put(
        f"/accounts/{opened['id']}/transactions/{held.json()['id']}/settlement",
        json={"value": "100.10"},
    )
    assert settled.status_code == 200, settled.text
    after_settle = exact(api.get(f"/accounts/{opened['id']}"))
    assert after_settle["preAuthorizedCredit"] == 0
    assert after_settle["balance"] == Decimal("-100.10")
    assert after_settle["availableBalance"] == Decimal("899.90")
    assert after_settle["availableCredit"] == Decimal("899.90")


# --- search --------------------------------------------------------------------------------


def test_search_pages_with_from_to_and_counts_all_matches(api):
    opened = [open_account(api)["id"] for _ in range(5)]
    everything = search(api)
    assert [row["id"] for row in everything["data"]] == opened
    assert everything["summary"]["count"] == 5

    page = search(api, **{"from": 2, "to": 3})
    assert [row["id"] for row in page["data"]] == opened[1:3]
    assert page["summary"]["count"] == 5

    tail = search(api, **{"from": 5, "to": 10})
    assert [row["id"] for row in tail["data"]] == opened[4:]
    assert tail["summary"]["count"] == 5

    beyond = search(api, **{"from": 6, "to": 8})
    assert beyond["data"] == []
    assert beyond["summary"]["count"] == 5


def test_search_without_window_returns_first_twenty(api):
    opened = [open_account(api)["id"] for _ in range(21)]
    first = search(api)
    assert [row["id"] for row in first["data"]] == opened[:20]
    assert first["summary"]["count"] == 21


def test_search_window_limit(api):
    open_account(api)
    assert search(api, **{"from": 1, "to": 1000})["summary"]["count"] == 1
    too_big = api.get("/accounts", params={"from": 1, "to": 1001})
    assert too_big.status_code == 400
    assert is_error_shape(too_big)
    assert {"to", "from"} & {detail["field"] for detail in too_big.json()["error"]["details"]}


def test_search_filters_by_email_of_owner_and_of_holder(api):
    owner = open_account(api, email="Owner.Person@Example.com")
    other = open_account(api)
    holder_email = f"holder-{uuid.uuid4().hex[:8]}@example.com"
    added = api.post(f"/accounts/{other['id']}/holders", json={"claims": {"email": holder_email}})
    assert added.status_code == 200, added.text

    by_owner = search(api, email="owner.person@example.com")
    assert [row["id"] for row in by_owner["data"]] == [owner["id"]]
    assert by_owner["summary"]["count"] == 1

    by_holder = search(api, email=holder_email)
    assert [row["id"] for row in by_holder["data"]] == [other["id"]]
    assert by_holder["summary"]["count"] == 1

    nobody = search(api, email="nobody@example.com")
    assert nobody["data"] == [] and nobody["summary"]["count"] == 0

    # A removed holder no longer finds the account.
    removed = api.delete(f"/accounts/{other['id']}/holders/{added.json()['id']}")
    assert removed.status_code == 200, removed.text
    assert search(api, email=holder_email)["summary"]["count"] == 0


def test_search_status_filter_and_closed_accounts_leave_the_listing(api):
    kept = open_account(api)
    closed = open_account(api)
    response = api.delete(f"/accounts/{closed['id']}")
    assert response.status_code == 200, response.text

    default = search(api)
    assert [row["id"] for row in default["data"]] == [kept["id"]]
    assert default["summary"]["count"] == 1

    only_open = search(api, status="Open")
    assert [row["id"] for row in only_open["data"]] == [kept["id"]]

    only_closed = search(api, status="Closed")
    assert [row["id"] for row in only_closed["data"]] == [closed["id"]]
    assert only_closed["data"][0]["status"] == "Closed"
    assert only_closed["summary"]["count"] == 1

    # The e-mail filter also respects the status filter.
    assert search(api, email=closed["email"])["summary"]["count"] == 0
    assert search(api, email=closed["email"], status="Closed")["summary"]["count"] == 1


# --- update --------------------------------------------------------------------------------


def test_update_replaces_contact_fields_and_keeps_the_id(api):
    opened = open_account(api, credit_limit="1000", tolerance="0.1")
    new_document_number = new_document()
    response = api.put(
        f"/accounts/{opened['id']}",
        json={"email": "New.Mail@example.com", "document": new_document_number, "documentType": "CNPJ"},
    )
    assert_matches("put", ACCOUNT, response)
    body = exact(response)
    assert body["id"] == opened["id"]
    assert body["document"] == new_document_number
    assert body["documentType"] == "CNPJ"
    assert body["email"].lower() == "new.mail@example.com"
    assert body["creditLimit"] == Decimal("1000")
    assert body["tolerance"] == Decimal("0.1")
    # Still reachable under its old id; no Credit entry without creditLimit/tolerance.
    assert account(api, opened["id"])["document"] == new_document_number
    assert statements(api, opened["id"]) == []


def test_update_with_limit_and_tolerance_writes_credit_entries(api):
    opened = open_account(api, credit_limit="1000", tolerance="0.1")
    response = api.put(
        f"/accounts/{opened['id']}",
        json={
            "email": opened["email"],
            "document": opened["document"],
            "documentType": "CPF",
            "creditLimit": 3400,
            "tolerance": 0.25,
        },
    )
    assert_matches("put", ACCOUNT, response)
    body = exact(response)
    assert body["creditLimit"] == Decimal("3400")
    assert body["tolerance"] == Decimal("0.25")
    assert body["balance"] == 0
    assert body["availableCredit"] == Decimal("3400")
    entries = statements(api, opened["id"])
    assert [entry["origin"] for entry in entries] == ["Credit", "Credit"]
    # domain.md does not fix the order of the two changes; each order has its own values:
    # limit first ((3400 − 1000) × 1.1, then 3400 × (0.25 − 0.1)) or tolerance first
    # (1000 × 0.15, then 2400 × 1.25). Either way the two entries are consistent.
    values = sorted(entry["value"] for entry in entries)
    assert values in (
        sorted([Decimal("2640"), Decimal("510")]),
        sorted([Decimal("150"), Decimal("3000")]),
    )


def test_update_with_only_limit_writes_one_credit_entry(api):
    opened = open_account(api, credit_limit="1000", tolerance="0")
    response = api.put(
        f"/accounts/{opened['id']}",
        json={
            "email": opened["email"],
            "document": opened["document"],
            "documentType": "CPF",
            "creditLimit": "1500",
        },
    )
    assert_matches("put", ACCOUNT, response)
    assert exact(response)["tolerance"] == 0
    entries = statements(api, opened["id"])
    assert [(entry["origin"], entry["value"]) for entry in entries] == [("Credit", Decimal("500"))]


# --- credit limit and tolerance ------------------------------------------------------------


def test_change_credit_limit(api):
    opened = open_account(api, credit_limit="1000")
    response = api.put(f"/accounts/{opened['id']}/creditlimit", json={"value": 5500})
    assert_matches("put", CREDIT_LIMIT, response)
    body = exact(response)
    assert body["id"] == opened["id"]
    assert body["creditLimit"] == Decimal("5500")
    assert body["availableCredit"] == Decimal("5500")
    assert body["availableBalance"] == Decimal("5500")
    assert body["balance"] == 0


def test_change_credit_limit_accepts_numeric_string(api):
    opened = open_account(api, credit_limit="1000")
    response = api.put(f"/accounts/{opened['id']}/creditlimit", json={"value": "250.75"})
    assert_matches("put", CREDIT_LIMIT, response)
    assert exact(response)["creditLimit"] == Decimal("250.75")


def test_change_tolerance(api):
    opened = open_account(api, credit_limit="1000")
    response = api.put(f"/accounts/{opened['id']}/tolerance", json={"value": 0.3})
    assert_matches("put", TOLERANCE, response)
    body = exact(response)
    assert body["tolerance"] == Decimal("0.3")
    assert body["creditLimit"] == Decimal("1000")
    # Tolerance is not credit: the available figures do not move.
    assert body["availableCredit"] == Decimal("1000")
    string_form = api.put(f"/accounts/{opened['id']}/tolerance", json={"value": "0.05"})
    assert_matches("put", TOLERANCE, string_form)
    assert exact(string_form)["tolerance"] == Decimal("0.05")


def test_tolerance_bounds_zero_and_one_are_allowed(api):
    opened = open_account(api, credit_limit="100")
    for value in ("1", "0"):
        response = api.put(f"/accounts/{opened['id']}/tolerance", json={"value": value})
        assert_matches("put", TOLERANCE, response)
        assert exact(response)["tolerance"] == Decimal(value)


# --- close ---------------------------------------------------------------------------------


def test_close_account(api):
    opened = open_account(api, credit_limit="500")
    response = api.delete(f"/accounts/{opened['id']}")
    assert_matches("delete", ACCOUNT, response)
    body = exact(response)
    assert body["id"] == opened["id"]
    assert body["status"] == "Closed"
    assert body["creditLimit"] == Decimal("500")
    # A closed account refuses money changes.
    refused = api.put(f"/accounts/{opened['id']}/creditlimit", json={"value": "600"})
    assert refused.status_code in (404, 409), refused.text
    assert is_error_shape(refused)


def test_close_with_matching_body(api):
    opened = open_account(api, email="match@example.com")
    response = api.delete(
        f"/accounts/{opened['id']}",
        json={"document": opened["document"], "documentType": "CPF", "email": "MATCH@example.com"},
    )
    assert_matches("delete", ACCOUNT, response)
    assert response.json()["status"] == "Closed"


def test_close_with_mismatching_body_is_409(api):
    opened = open_account(api)
    for body in (
        {"document": "00000000000"},
        {"documentType": "CNPJ"},
        {"email": "someone.else@example.com"},
        {"document": opened["document"], "documentType": "CPF", "email": "x@example.com"},
    ):
        response = api.delete(f"/accounts/{opened['id']}", json=body)
        assert response.status_code == 409, (body, response.text)
        assert is_error_shape(response)
    assert account(api, opened["id"])["status"] == "Open"


def test_close_refused_while_invoices_are_open(api):
    opened = open_account(api, credit_limit="1000")
    transaction_id = purchase(api, opened["id"], "90", installments=2)
    refused = api.delete(f"/accounts/{opened['id']}")
    assert refused.status_code == 409
    assert error_code(refused) == "AccountHasOpenDebt"
    assert account(api, opened["id"])["status"] == "Open"
    # One invoice paid, one still open: still refused.
    paid = api.post(f"/accounts/{opened['id']}/invoices/{transaction_id}-01/payments")
    assert paid.status_code == 200, paid.text
    assert api.delete(f"/accounts/{opened['id']}").status_code == 409
    paid = api.post(f"/accounts/{opened['id']}/invoices/{transaction_id}-02/payments")
    assert paid.status_code == 200, paid.text
    closed = api.delete(f"/accounts/{opened['id']}")
    assert_matches("delete", ACCOUNT, closed)
    assert closed.json()["status"] == "Closed"


def test_close_refused_while_a_hold_is_live(api):
    opened = open_account(api, credit_limit="1000")
    held = hold(api, opened["id"], "10", settle=False)
    assert held.status_code == 200, held.text
    refused = api.delete(f"/accounts/{opened['id']}")
    assert refused.status_code == 409
    assert error_code(refused) == "AccountHasOpenDebt"
    cancelled = api.delete(f"/accounts/{opened['id']}/transactions/{held.json()['id']}")
    assert cancelled.status_code == 200, cancelled.text
    assert api.delete(f"/accounts/{opened['id']}").status_code == 200


def test_closed_id_can_be_opened_again_and_old_records_stay(api, database):
    opened = open_account(api, credit_limit="800", email="first@example.com")
    # Bought and paid in full: an account that owes money cannot be closed.
    bought = purchase(api, opened["id"], "15")
    assert api.post(f"/accounts/{opened['id']}/invoices/{bought}-01/payments").status_code == 200
    limit = api.put(f"/accounts/{opened['id']}/creditlimit", json={"value": "900"})
    assert limit.status_code == 200, limit.text
    assert api.delete(f"/accounts/{opened['id']}").status_code == 200

    again = api.post(
        "/accounts",
        json={
            "document": opened["document"],
            "documentType": "CPF",
            "email": "second@example.com",
            "creditLimit": "300",
        },
    )
    assert_matches("post", ACCOUNTS, again)
    body = exact(again)
    assert body["id"] == opened["id"]
    assert body["status"] == "Open"
    assert body["balance"] == 0
    assert body["creditLimit"] == Decimal("300")
    assert account(api, opened["id"])["email"] == "second@example.com"
    assert [row["id"] for row in search(api)["data"]] == [opened["id"]]
    closed = search(api, status="Closed")
    assert [(row["id"], row["email"]) for row in closed["data"]] == [(opened["id"], "first@example.com")]
    assert closed["data"][0]["balance"] == 0

    # Nothing was deleted: two account rows under the id, the old entries still stored.
    with database.read() as session:
        rows = session.scalars(
            select(Account).where(Account.store_id == api.store.id, Account.public_id == opened["id"])
        ).all()
        assert sorted(row.status for row in rows) == ["Closed", "Open"]
        old = next(row for row in rows if row.status == "Closed")
        old_entries = session.scalar(
            select(func.count()).select_from(Statement).where(Statement.account_id == old.id)
        )
        assert old_entries == 3
    # A second open while the new one is open is again a 409.
    duplicate = api.post(
        "/accounts",
        json={"document": opened["document"], "documentType": "CPF", "email": "third@example.com"},
    )
    assert duplicate.status_code == 409


# --- holders -------------------------------------------------------------------------------


def test_add_holder(api):
    opened = open_account(api)
    response = api.post(f"/accounts/{opened['id']}/holders", json={"claims": {"email": "holder@example.com"}})
    assert_matches("post", HOLDERS, response)
    body = response.json()
    assert body["level"] == 2
    assert body["claims"] == {"email": "holder@example.com"}
    assert re.fullmatch(r"[0-9a-f]{32}", body["id"])
    assert isinstance(body["createdAt"], str) and body["createdAt"]


def test_holder_ids_are_distinct(api):
    opened = open_account(api)
    ids = {
        api.post(f"/accounts/{opened['id']}/holders", json={"claims": {"email": f"h{n}@example.com"}}).json()[
            "id"
        ]
        for n in range(3)
    }
    assert len(ids) == 3


def test_an_email_holds_at_most_one_open_account(api):
    first = open_account(api)
    second = open_account(api)
    email = f"shared-{uuid.uuid4().hex[:8]}@example.com"
    added = api.post(f"/accounts/{first['id']}/holders", json={"claims": {"email": email}})
    assert added.status_code == 200, added.text

    on_second = api.post(f"/accounts/{second['id']}/holders", json={"claims": {"email": email}})
    assert on_second.status_code == 409
    assert is_error_shape(on_second)
    twice = api.post(f"/accounts/{first['id']}/holders", json={"claims": {"email": email.upper()}})
    assert twice.status_code == 409

    # Once removed, the e-mail is free to hold another account.
    removed = api.delete(f"/accounts/{first['id']}/holders/{added.json()['id']}")
    assert removed.status_code == 200
    moved = api.post(f"/accounts/{second['id']}/holders", json={"claims": {"email": email}})
    assert moved.status_code == 200, moved.text


def test_closing_an_account_frees_its_holders(api):
    first = open_account(api)
    second = open_account(api)
    email = f"freed-{uuid.uuid4().hex[:8]}@example.com"
    assert api.post(f"/accounts/{first['id']}/holders", json={"claims": {"email": email}}).status_code == 200
    assert api.delete(f"/accounts/{first['id']}").status_code == 200
    moved = api.post(f"/accounts/{second['id']}/holders", json={"claims": {"email": email}})
    assert moved.status_code == 200, moved.text


def test_delete_holder_twice_is_ok(api):
    opened = open_account(api)
    added = api.post(f"/accounts/{opened['id']}/holders", json={"claims": {"email": "gone@example.com"}})
    holder_id = added.json()["id"]
    first = api.delete(f"/accounts/{opened['id']}/holders/{holder_id}")
    assert_matches("delete", HOLDER, first)
    assert first.json() == {"id": holder_id}
    second = api.delete(f"/accounts/{opened['id']}/holders/{holder_id}")
    assert_matches("delete", HOLDER, second)
    assert second.json() == {"id": holder_id}
    assert search(api, email="gone@example.com")["summary"]["count"] == 0


def test_delete_holder_of_another_account_is_404(api):
    first = open_account(api)
    second = open_account(api)
    added = api.post(f"/accounts/{first['id']}/holders", json={"claims": {"email": "mine@example.com"}})
    response = api.delete(f"/accounts/{second['id']}/holders/{added.json()['id']}")
    assert response.status_code == 404
    assert is_error_shape(response)
    assert search(api, email="mine@example.com")["data"][0]["id"] == first["id"]


def test_every_account_change_is_dated_by_the_request_clock(api, database, frozen_clock):
    """Opening, the limit and tolerance Credit entries, holders and closing all take the moment
    of the request's clock, as purchases and payments do: a replayed or back-dated clock (tests,
    `worker --now`) never mixes with the wall clock in one statement."""
    moments = [datetime(2027, 3, day, 9, 30, tzinfo=UTC) for day in range(1, 8)]
    frozen_clock.set(moments[0])
    opened = open_account(api, credit_limit="1000")
    account_id = opened["id"]
    assert opened["createdAt"].startswith("2027-03-01T09:30:00")
    frozen_clock.set(moments[1])
    assert api.put(f"/accounts/{account_id}/creditlimit", json={"value": "1500"}).status_code == 200
    frozen_clock.set(moments[2])
    assert api.put(f"/accounts/{account_id}/tolerance", json={"value": "0.1"}).status_code == 200
    frozen_clock.set(moments[3])
    changed = api.put(f"/accounts/{account_id}", json={"creditLimit": "1200"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["updatedAt"].startswith("2027-03-04T09:30:00")
    frozen_clock.set(moments[4])
    added = api.post(
        f"/accounts/{account_id}/holders", json={"claims": {"email": f"h-{account_id}@example.com"}}
    )
    assert added.status_code == 200, added.text
    assert added.json()["createdAt"].startswith("2027-03-05T09:30:00")
    frozen_clock.set(moments[5])
    assert api.delete(f"/accounts/{account_id}/holders/{added.json()['id']}").status_code == 200
    frozen_clock.set(moments[6])
    assert api.delete(f"/accounts/{account_id}").status_code == 200

    entries = statements(api, account_id)
    assert [entry["date"][:19] for entry in entries] == [
        "2027-03-02T09:30:00",
        "2027-03-03T09:30:00",
        "2027-03-04T09:30:00",
    ]
    with database.read() as session:
        row = session.scalars(select(Account).where(Account.public_id == account_id)).one()
        holder = session.scalars(select(Holder).where(Holder.account_id == row.id)).one()
        assert row.closed_at == moments[6] and row.updated_at == moments[6]
        assert holder.removed_at == moments[5]
