"""The PDF account statement through the API, on SQLite and PostgreSQL: the same entries and
balances as GET …/statements for the same window, each entry with its running balance, the
window's rules and errors, permissions and tenancy."""

import json
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from customer_credit.accounts.models import Account
from customer_credit.auth import resources
from customer_credit.documents import service as documents
from customer_credit.ledger.models import Statement
from tests.documents.support import PDF, pdf_text, set_store
from tests.helpers import open_account, purchase

NOW = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)
# When each entry of `ledger_with_history` happened, oldest first.
ENTRY_TIMES = (
    datetime(2026, 2, 27, 10, 0, tzinfo=UTC),  # Invoice -100.00, before the window
    datetime(2026, 3, 2, 10, 0, tzinfo=UTC),  # Payment +30.00
    datetime(2026, 3, 5, 10, 0, tzinfo=UTC),  # Credit +1000.00 (the limit, not the balance)
    datetime(2026, 3, 31, 23, 30, tzinfo=UTC),  # Statement -12.34, the window's last day
    datetime(2026, 4, 1, 0, 10, tzinfo=UTC),  # Invoice -50.00, after the window
)


def exact(response) -> dict:
    assert response.status_code == 200, response.text
    return json.loads(response.text, parse_float=Decimal)


def ledger_with_history(api, store) -> str:
    account_id = open_account(api, email="owner@example.com", credit_limit="1000")["id"]
    purchase(api, account_id, "100")
    (invoice,) = api.get(f"/accounts/{account_id}/invoices").json()["data"]
    paid = api.post(f"/accounts/{account_id}/invoices/{invoice['id']}/payments", json={"value": "30"})
    assert paid.status_code == 200, paid.text
    assert api.put(f"/accounts/{account_id}/creditlimit", json={"value": "2000"}).status_code == 200
    debit = api.put(f"/accounts/{account_id}/statements/{uuid.uuid4().hex}", json={"value": "12.34"})
    assert debit.status_code == 200, debit.text
    purchase(api, account_id, "50")
    with store.database.write() as session:
        account = session.scalar(
            select(Account).where(Account.store_id == store.id, Account.public_id == account_id)
        )
        entries = list(
            session.scalars(
                select(Statement).where(Statement.account_id == account.id).order_by(Statement.id)
            )
        )
        assert [entry.origin for entry in entries] == ["Invoice", "Payment", "Credit", "Statement", "Invoice"]
        for entry, at in zip(entries, ENTRY_TIMES, strict=True):
            entry.created_at = at
    return account_id


def line(text: str, label: str, value: str) -> bool:
    return re.search(rf"^\s*{re.escape(label)}\s+{re.escape(value)}\s*$", text, re.MULTILINE) is not None


def money(value) -> str:
    return f"{Decimal(str(value)):.2f}"


def test_the_statement_has_the_apis_entries_and_balances_for_the_window(api, store, frozen_clock):
    frozen_clock.set(NOW)
    set_store(store, display_name="Statement Store", payment_instructions="Pay at the counter.")
    account_id = ledger_with_history(api, store)
    wire = exact(
        api.get(
            f"/accounts/{account_id}/statements", params={"dateFrom": "2026-03-01", "dateTo": "2026-03-31"}
        )
    )
    assert (wire["previousBalance"], wire["intervalBalance"], wire["currentBalance"]) == (
        Decimal("-100.00"),
        Decimal("1017.66"),
        Decimal("-132.34"),
    )

    response = api.get(
        f"/accounts/{account_id}/statements/pdf", params={"from": "2026-03-01", "to": "2026-03-31"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == PDF
    assert (
        response.headers["content-disposition"]
        == f'attachment; filename="statement-{account_id}-2026-03-01-2026-03-31.pdf"'
    )
    text = pdf_text(response.content)
    assert "Statement Store" in text and "Account statement" in text and "Pay at the counter." in text
    assert line(text, "Account", account_id) and line(text, "Account owner", "owner@example.com")
    assert line(text, "Period", "2026-03-01 00:00 to 2026-03-31 23:59 (UTC)")
    assert line(text, "Previous balance (USD)", money(wire["previousBalance"]))
    assert line(text, "Entries in the period (USD)", money(wire["intervalBalance"]))
    assert line(text, "Current balance (USD)", money(wire["currentBalance"]))
    assert line(text, "Balance at the end of the period (USD)", "-82.34")
    assert line(text, "Entries", str(wire["count"]))
    # Each entry of the API's window, in its order, with the balance after it (a Credit entry
    # leaves the balance as it was).
    running = wire["previousBalance"]
    for entry in wire["statements"]:
        if entry["origin"] != "Credit":
            running += entry["value"]
        when = datetime.fromisoformat(entry["date"].replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")
        value, balance = re.escape(money(entry["value"])), re.escape(money(running))
        row = rf"^\s*{when}\s+{entry['origin']}\s+.*\s{value}\s+{balance}\s*$"
        assert re.search(row, text, re.MULTILINE), f"{entry} not in:\n{text}"
    assert [entry["origin"] for entry in wire["statements"]] == ["Payment", "Credit", "Statement"]
    assert "2026-02-27" not in text and "2026-04-01" not in text


def test_without_a_window_the_statement_covers_every_entry(api, store, frozen_clock):
    frozen_clock.set(NOW)
    account_id = ledger_with_history(api, store)
    wire = exact(api.get(f"/accounts/{account_id}/statements"))
    response = api.get(f"/accounts/{account_id}/statements/pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].endswith(
        f'filename="statement-{account_id}-start-2026-04-02.pdf"'
    )
    text = pdf_text(response.content)
    assert line(text, "Period", "the first entry to 2026-04-02 09:00 (UTC)")
    assert line(text, "Previous balance (USD)", "0.00")
    assert line(text, "Entries", "5") and wire["count"] == 5
    assert line(text, "Current balance (USD)", money(wire["currentBalance"]))
    assert line(text, "Balance at the end of the period (USD)", money(wire["currentBalance"]))
    # A moment bound is read as the statements endpoint reads it: inclusive.
    moment = api.get(
        f"/accounts/{account_id}/statements/pdf",
        params={"from": "2026-03-02T10:00:00Z", "to": "2026-03-05T10:00:00Z"},
    )
    assert line(pdf_text(moment.content), "Entries", "2")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "to"),
        ({"from": "2026-03-10T12:00:00Z", "to": "2026-03-10T11:59:59Z"}, "to"),
        ({"from": "x" * 100}, "from"),
    ],
)
def test_bad_windows_are_400_naming_the_field(api, params, field):
    account_id = open_account(api)["id"]
    response = api.get(f"/accounts/{account_id}/statements/pdf", params=params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "InvalidInput" and error["details"][0]["field"] == field


def test_a_period_with_too_many_entries_is_refused(api, store, monkeypatch):
    account_id = ledger_with_history(api, store)
    monkeypatch.setattr(documents, "MAX_STATEMENT_ENTRIES", 4)
    response = api.get(f"/accounts/{account_id}/statements/pdf")
    assert response.status_code == 400 and response.json()["error"]["code"] == "PeriodTooLong"
    shorter = api.get(f"/accounts/{account_id}/statements/pdf", params={"from": "2026-03-01"})
    assert shorter.status_code == 200


def test_read_statements_is_needed_and_other_stores_see_nothing(store, api, other_api):
    account_id = open_account(api)["id"]
    path = f"/accounts/{account_id}/statements/pdf"
    refused = store.api([resources.READ_INVOICES, resources.READ_ACCOUNTS]).get(path)
    assert refused.status_code == 403
    assert store.api([resources.READ_STATEMENTS]).get(path).status_code == 200
    for client in (api, other_api):
        unknown = client.get(f"/accounts/{account_id}-nope/statements/pdf")
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "AccountNotFound"
    foreign = other_api.get(path)
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "AccountNotFound"
