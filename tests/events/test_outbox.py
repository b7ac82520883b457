"""The outbox: an event is written in the same transaction as its change (none for a refused
or rolled-back change), read back by cursor through GET /events, per store and with read
rights; `invoice.overdue` is written once per invoice and due date."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from customer_credit.accounts import service as accounts
from customer_credit.events.models import Event
from tests.contract import is_error_shape
from tests.events.support import run_worker
from tests.helpers import configure, hold, open_account, purchase


def feed(api, after="0") -> list[dict]:
    events, cursor = [], after
    while True:
        response = api.get(f"/events?after={cursor}&limit=50")
        assert response.status_code == 200, response.text
        page = json.loads(response.content, parse_float=Decimal)
        events += page["data"]
        cursor = page["cursor"]
        if not page["hasMore"]:
            return events


def event_count(database, store) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(Event).where(Event.store_id == store.id))


def test_the_feed_is_per_store_by_cursor_and_needs_read_rights(api, other_api, store):
    opened = open_account(api, credit_limit="100")["id"]
    api.put(f"/accounts/{opened}/creditlimit", json={"value": "150"})
    open_account(other_api, credit_limit="100")
    mine = feed(api)
    assert [event["type"] for event in mine] == ["account.opened", "account.credit_limit_changed"]
    assert {event["data"]["account"]["id"] for event in mine} == {opened}

    first = api.get("/events?limit=1").json()
    assert [event["id"] for event in first["data"]] == [mine[0]["id"]] and first["hasMore"] is True
    rest = api.get(f"/events?after={first['cursor']}").json()
    assert [event["id"] for event in rest["data"]] == [mine[1]["id"]] and rest["hasMore"] is False
    assert api.get(f"/events?after={rest['cursor']}").json() == {
        "data": [],
        "cursor": rest["cursor"],
        "hasMore": False,
    }

    for query in ("after=-1", "after=abc", "limit=0", "limit=5000"):
        bad = api.get(f"/events?{query}")
        assert bad.status_code == 400 and is_error_shape(bad), query
    partial = store.api(resources=["Read Checking Accounts", "Read Invoices"])
    assert partial.get("/events").status_code == 403
    full = store.api(resources=["Read Checking Accounts", "Read Invoices", "Read Statements"])
    assert [event["id"] for event in feed(full)] == [event["id"] for event in mine]


def test_a_refused_or_rolled_back_change_writes_no_event(api, store, database):
    opened = open_account(api, credit_limit="100")["id"]
    before = event_count(database, store)
    assert hold(api, opened, "500").status_code == 409
    assert api.put(f"/accounts/{opened}/tolerance", json={"value": "2"}).status_code == 400
    assert (
        api.post(
            "/accounts",
            json={"document": opened.split("_")[0], "documentType": "CPF", "email": "x@example.com"},
        ).status_code
        == 409
    )
    assert event_count(database, store) == before

    class Crash(Exception):
        pass

    with pytest.raises(Crash), database.write() as session:
        accounts.change_credit_limit(session, store.principal(), opened, Decimal("700"))
        assert (
            session.scalar(select(func.count()).select_from(Event).where(Event.store_id == store.id))
            == before + 1
        )
        raise Crash()
    assert event_count(database, store) == before
    assert api.get(f"/accounts/{opened}").json()["creditLimit"] == 100


def test_an_overdue_invoice_is_announced_once_per_due_date(api, database, store, frozen_clock):
    frozen_clock.set(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))  # due dates fall at 15:00 UTC
    configure(api, postponementEnabled=True, invoicePostponementLimit=3, maxPostponementDays=60)
    account_id = open_account(api, credit_limit="1000")["id"]
    purchase(api, account_id, "90", installments=3)
    first, second, _third = api.get(f"/accounts/{account_id}/invoices").json()["data"]
    due = datetime.fromisoformat(first["dueDate"].replace("Z", "+00:00"))
    assert api.post(f"/accounts/{account_id}/invoices/{second['id']}/payments").status_code == 200

    run_worker(database, due - timedelta(minutes=1))
    assert [e for e in feed(api) if e["type"] == "invoice.overdue"] == []

    # The second installment, paid, is never overdue; the first is announced once.
    for moment in (due + timedelta(minutes=1), due + timedelta(hours=1), due + timedelta(days=40)):
        run_worker(database, moment)
    overdue = [e for e in feed(api) if e["type"] == "invoice.overdue"]
    assert [e["data"]["invoice"]["id"] for e in overdue] == [first["id"]]
    # Announced a minute after the due moment: 0 calendar days late (the store counts in UTC).
    assert overdue[0]["data"]["changes"] == {"daysOverdue": 0}

    # Postponed past its due date, the invoice is overdue again when the new date passes.
    assert (
        api.put(
            f"/accounts/{account_id}/invoices/{first['id']}/postponement", json={"dueDays": 10}
        ).status_code
        == 200
    )
    run_worker(database, due + timedelta(days=9))
    assert len([e for e in feed(api) if e["type"] == "invoice.overdue"]) == 1
    run_worker(database, due + timedelta(days=12))
    overdue = [e for e in feed(api) if e["type"] == "invoice.overdue"]
    assert [e["data"]["invoice"]["id"] for e in overdue] == [first["id"], first["id"]]
    assert overdue[1]["data"]["changes"] == {"daysOverdue": 2}
