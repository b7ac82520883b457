"""The hot paths stay lean and exact: the statements a purchase and the hot reads send, the
store configuration cached per process (and seen at once after a change here), the events of
one transaction written in one INSERT in the order of their changes (docs/performance.md, Hot
paths)."""

import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from customer_credit.accounts import service as accounts
from customer_credit.events.models import Event
from customer_credit.stores import service as stores
from customer_credit.stores.models import StoreConfig
from tests.helpers import configure, hold, open_account


@contextmanager
def statements(database) -> Iterator[list[str]]:
    """The SQL the database receives meanwhile (SQLite's BEGIN IMMEDIATE left out)."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        if not statement.startswith("BEGIN"):
            sent.append(" ".join(statement.split()))

    engines = {database.read_engine, database.write_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def _events_inserted(sent: list[str]) -> list[int]:
    """The number of rows of each INSERT into events."""
    return [sql.count("), (") + 1 for sql in sent if sql.startswith("INSERT INTO events")]


def test_a_purchase_reads_the_configuration_once_and_each_invoice_once(api, database):
    opened = open_account(api, credit_limit="500")["id"]
    configure(api, toleranceEnabled=True)  # a stored configuration, not the defaults
    base = f"/accounts/{opened}"
    with statements(database) as sent:
        transaction = hold(api, opened, "30", installments=3).json()["id"]
    assert sum("FROM store_configs" in sql for sql in sent) <= 1
    assert _events_inserted(sent) == [1]

    with statements(database) as sent:
        assert (
            api.put(f"{base}/transactions/{transaction}/settlement", json={"value": "30"}).status_code == 200
        )
    # Within the cache's lifetime the configuration is not read again.
    assert not any("FROM store_configs" in sql for sql in sent)
    # The settlement and its three invoices: one INSERT of four rows.
    assert _events_inserted(sent) == [4]

    for installment in (1, 2, 3):
        with statements(database) as sent:
            paid = api.post(f"{base}/invoices/{transaction}-0{installment}/payments")
        assert paid.status_code == 200, paid.text
        assert sum(sql.startswith("SELECT invoices.") for sql in sent) == 1, sent
        assert not any("FROM store_configs" in sql for sql in sent)
        assert _events_inserted(sent) == [1]

    with statements(database) as sent:
        assert api.get(base).json()["balance"] == 0
        assert api.get(f"{base}/invoices/{transaction}-01").json()["status"] == "Paid"
    assert len(sent) == 2, sent


@pytest.mark.postgresql_only
def test_an_account_or_invoice_read_sends_one_statement_and_no_transaction(api, database):
    opened = open_account(api, credit_limit="500")["id"]
    transaction = hold(api, opened, "30").json()["id"]
    api.put(f"/accounts/{opened}/transactions/{transaction}/settlement", json={"value": "30"})
    states = []

    def after(conn, _cursor, _statement, _parameters, _context, _executemany):
        states.append(conn.connection.driver_connection.info.transaction_status.name)

    event.listen(database.read_engine, "after_cursor_execute", after)
    try:
        api.get(f"/accounts/{opened}")
        api.get(f"/accounts/{opened}/invoices/{transaction}-01")
    finally:
        event.remove(database.read_engine, "after_cursor_execute", after)
    # IDLE: the statement ran on its own, not inside a transaction (no BEGIN, no ROLLBACK).
    assert states == ["IDLE", "IDLE"]


def test_a_closed_and_reopened_account_reads_as_the_open_one(api):
    document = "52998224725"
    first = open_account(api, credit_limit="100", document=document)["id"]
    assert api.delete(f"/accounts/{first}").status_code == 200
    assert api.get(f"/accounts/{first}").json()["status"] == "Closed"
    open_account(api, credit_limit="300", document=document)
    again = api.get(f"/accounts/{first}").json()
    assert (again["status"], again["creditLimit"]) == ("Open", 300)
    missing = api.get("/accounts/00000000000_CPF")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "AccountNotFound")


def test_a_configuration_changed_in_this_process_is_seen_at_once(api, database, store):
    opened = open_account(api, credit_limit="100", tolerance="0.5")["id"]
    configure(api, toleranceEnabled=False)
    assert hold(api, opened, "120").status_code == 409  # cached now: tolerance off
    configure(api, toleranceEnabled=True)
    assert hold(api, opened, "120").status_code == 200
    # A change of the row itself, not through save_config, is seen at once too.
    with database.write() as session:
        session.get(StoreConfig, store.id).tolerance_enabled = False
    assert hold(api, opened, "20").status_code == 409


def test_each_transaction_gets_its_own_copy_of_the_configuration(api, database, store):
    configure(
        api, notificationsSettings={"daysPrior": [{"days": 1, "timeOfDay": "09:00:00"}], "daysAfter": []}
    )
    with database.read() as session:
        config = stores.get_config(session, store.id)
        assert stores.get_config(session, store.id) is config  # kept for the transaction
        config.notifications["daysPrior"].clear()
    with database.read() as session:
        assert stores.get_config(session, store.id).notifications["daysPrior"] != []


def test_a_snapshot_read_before_a_change_is_not_kept_after_it():
    cache = stores._ConfigCache(ttl_s=60, max_entries=10)
    generation = cache.generation
    cache.forget(7)  # a change committed while the snapshot was being read
    cache.put("db-a", 7, {"store_id": 7}, generation)
    assert cache.get("db-a", 7) is None
    cache.put("db-a", 7, {"store_id": 7}, cache.generation)
    assert cache.get("db-a", 7) == {"store_id": 7}
    assert cache.get("db-b", 7) is None  # another database's store 7 is another store


def test_the_defaults_name_every_column():
    assert set(stores._default_values(1)) == set(StoreConfig.__table__.columns.keys())


def _event_types(database, store) -> list[str]:
    with database.read() as session:
        return list(session.scalars(select(Event.type).where(Event.store_id == store.id).order_by(Event.id)))


def test_events_keep_the_order_of_their_changes(api, database, store):
    opened = open_account(api, credit_limit="500")["id"]
    transaction = hold(api, opened, "30", installments=3).json()["id"]
    api.put(f"/accounts/{opened}/transactions/{transaction}/settlement", json={"value": "30"})
    assert _event_types(database, store)[-5:] == [
        "transaction.authorized",
        "transaction.settled",
        "invoice.created",
        "invoice.created",
        "invoice.created",
    ]
    with database.read() as session:
        bodies = session.scalars(
            select(Event.body)
            .where(Event.store_id == store.id, Event.type == "invoice.created")
            .order_by(Event.id)
        ).all()
    assert [json.loads(body)["data"]["invoice"]["installment"] for body in bodies] == [1, 2, 3]


def test_events_of_a_rolled_back_savepoint_are_dropped_and_the_others_kept(api, database, store):
    opened = open_account(api, credit_limit="100")["id"]
    before = len(_event_types(database, store))

    class Refused(Exception):
        pass

    principal = store.principal()
    with database.write() as session:
        accounts.change_credit_limit(session, principal, opened, Decimal("200"))
        with suppress(Refused), session.begin_nested():
            accounts.change_credit_limit(session, principal, opened, Decimal("300"))
            raise Refused
        accounts.change_tolerance(session, principal, opened, Decimal("0.1"))
    assert _event_types(database, store)[before:] == [
        "account.credit_limit_changed",
        "account.changed",
    ]
    assert api.get(f"/accounts/{opened}").json()["creditLimit"] == 200
