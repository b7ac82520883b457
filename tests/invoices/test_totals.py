"""The stores' invoice totals (invoices/totals.py, kept by triggers from migration 0015), on
SQLite and PostgreSQL: after every kind of invoice change they equal a recomputation from the
invoices, the unfiltered store-wide search's summary is exactly that, `check` reports totals
that were tampered with, and a rolled-back savepoint takes its changes back out of them."""

import importlib
import sqlite3
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from customer_credit.credit_control import dunning
from customer_credit.demo.service import load_demo
from customer_credit.invoices import totals
from customer_credit.invoices.models import Invoice
from customer_credit.ledger.check import totals_mismatches
from customer_credit.ledger.service import recompute_mismatches
from customer_credit.money import from_cents
from tests.credit_control.test_adjustments import invoices_of
from tests.credit_control.test_dunning import put_levels
from tests.helpers import configure, dec, open_account, purchase


def recomputed(database, store_id: int) -> totals.Totals:
    with database.read() as session:
        return totals.recomputed_by_store(session, store_id).get(store_id, totals.Totals())


def assert_exact(api, database, store_id: int) -> totals.Totals:
    """The maintained totals, the unfiltered search's summary and the per-status summaries
    all equal the figures added up from the invoices; returns them."""
    expected = recomputed(database, store_id)
    with database.read() as session:
        assert totals.stored(session, store_id) == expected
        assert totals_mismatches(session, store_id) == []
    for status in (None, "Opened", "Paid", "Cancelled"):
        query = f"?status={status}" if status else ""
        response = api.get(f"/invoices{query}")
        assert response.status_code == 200, response.text
        figures = expected.summary(status)
        assert response.json()["summary"] == {
            "count": figures["count"],
            **{name: dec(from_cents(figures[name])) for name in ("total", "totalPaid", "totalCancelled")},
        }
    return expected


class Steps:
    """After a change: the totals are exact, and moved unless the change counts for nothing
    (a partial payment leaves an invoice Opened with its value)."""

    def __init__(self, api, database, store_id: int):
        self.api, self.database, self.store_id = api, database, store_id
        self.last = assert_exact(api, database, store_id)

    def __call__(self, label: str, response=None, *, moves: bool = True) -> None:
        if response is not None:
            assert response.status_code == 200, f"{label}: {response.text}"
        now = assert_exact(self.api, self.database, self.store_id)
        assert (now != self.last) == moves, f"{label}: {self.last} → {now}"
        self.last = now


def test_the_totals_follow_every_kind_of_invoice_change(api, database, store):
    configure(api, maxPreAuthorizationGrowthRate=0.5)
    step = Steps(api, database, store.id)
    owner = open_account(api, credit_limit="100000")["id"]
    base = f"/accounts/{owner}"

    transaction_id = purchase(api, owner, "300", installments=3)
    step("issue 3 invoices")
    first, second, third = invoices_of(api, owner)
    step("pay partly", api.post(f"{base}/invoices/{first['id']}/payments", json={"value": "40"}), moves=False)
    step("pay the rest", api.post(f"{base}/invoices/{first['id']}/payments"))
    step("reverse the payment", api.put(f"{base}/invoices/{first['id']}", json={"status": "Opened"}))
    step("pay by status", api.put(f"{base}/invoices/{first['id']}", json={"status": "Paid"}))
    step("cancel", api.delete(f"{base}/invoices/{third['id']}"))
    settlement = f"{base}/transactions/{transaction_id}/settlement"
    step("re-settle lower", api.put(settlement, json={"value": "250"}))

    raised = purchase(api, owner, "100", installments=2)
    step("issue 2 more")
    step("re-settle higher", api.put(f"{base}/transactions/{raised}/settlement", json={"value": "140"}))
    step("refund lowering", api.post(f"{base}/transactions/{raised}/refunds", json={"value": "30"}))
    step(
        "credit note",
        api.post(f"{base}/invoices/{second['id']}/creditnotes", json={"value": "10", "reason": "damaged"}),
    )
    step(
        "write-off",
        api.post(f"{base}/invoices/{second['id']}/writeoffs", json={"value": "40", "reason": "insolvent"}),
    )

    # Unapplied credit (a paid purchase refunded), applied to an open invoice.
    refunded = purchase(api, owner, "50")
    [paid] = [i for i in invoices_of(api, owner) if i["transactionId"] == refunded]
    step("pay in full", api.post(f"{base}/invoices/{paid['id']}/payments"))
    # Nothing of it is open: the refund becomes the customer's credit and changes no invoice.
    refund = api.post(f"{base}/transactions/{refunded}/refunds", json={"value": "50"})
    step("refund of a paid purchase", refund, moves=False)
    target = next(i for i in invoices_of(api, owner) if i["status"] == "Opened")
    step(
        "balance application",
        api.post(f"{base}/invoices/{target['id']}/balanceapplications", json={"value": target["value"]}),
    )
    with database.read() as session:
        assert recompute_mismatches(session, store.id) == []


def test_a_late_fee_invoice_is_counted(api, database, store, frozen_clock):
    owner = open_account(api, credit_limit="10000")["id"]
    purchase(api, owner, "100")
    [invoice] = invoices_of(api, owner)
    now = frozen_clock.moment
    due = now - timedelta(days=5)
    with database.write() as session:
        session.execute(
            update(Invoice)
            .where(Invoice.store_id == store.id, Invoice.public_id == invoice["id"])
            .values(due_at=due, original_due_at=due)
        )
    levels = [{"days": 3, "name": "Friendly", "lateFee": {"fixed": "5"}}]
    assert put_levels(api, levels, at=due - timedelta(days=40), clock=frozen_clock).status_code == 200
    before = assert_exact(api, database, store.id)
    with database.write() as session:
        assert dunning.charge_late_fees(session, now) == 1
    after = assert_exact(api, database, store.id)
    assert (after.opened_count, after.opened_cents) == (before.opened_count + 1, before.opened_cents + 500)


def test_a_demo_load_adds_its_invoices(database, api, store):
    name = f"totals-{uuid.uuid4().hex[:10]}"
    report = load_demo(
        database,
        store_name=name,
        accounts=12,
        invoices=90,
        seed=3,
        accounts_per_batch=5,
        processes=1,
        analyze=False,
    )
    expected = recomputed(database, report.store_id)
    assert expected.summary()["count"] == 90
    with database.read() as session:
        assert totals.stored(session, report.store_id) == expected
        assert totals_mismatches(session, report.store_id) == []


def test_check_reports_tampered_totals(api, database, store):
    owner = open_account(api, credit_limit="1000")["id"]
    purchase(api, owner, "100")
    with database.write() as session:
        session.execute(
            update(totals.InvoiceTotals)
            .where(totals.InvoiceTotals.store_id == store.id)
            .values(paid_count=totals.InvoiceTotals.paid_count + 1)
        )
    with database.read() as session:
        found = [(m.field, m.stored, m.recomputed, m.unit) for m in recompute_mismatches(session, store.id)]
        # The account-scoped check leaves the store's totals alone.
        account_pk = session.scalar(select(Invoice.account_id).where(Invoice.store_id == store.id))
        assert recompute_mismatches(session, store.id, account_id=account_pk) == []
    assert found == [("invoice totals: Paid count", 1, 0, "invoices")]


def test_a_rolled_back_savepoint_takes_its_changes_out(api, database, store):
    owner = open_account(api, credit_limit="1000")["id"]
    purchase(api, owner, "100")
    before = assert_exact(api, database, store.id)
    with database.write() as session:
        invoice = session.scalars(select(Invoice).where(Invoice.store_id == store.id)).one()
        savepoint = session.begin_nested()
        invoice.value_cents = 1
        invoice.status = "Cancelled"
        session.flush()
        savepoint.rollback()
        invoice = session.scalars(select(Invoice).where(Invoice.store_id == store.id)).one()
        invoice.observation = "kept; counts nothing"
    assert assert_exact(api, database, store.id) == before


def test_an_empty_store_sums_to_zero(api, database, store):
    assert assert_exact(api, database, store.id) == totals.Totals()


@pytest.mark.parametrize("status", ["Opened", "Paid", "Cancelled", None])
def test_summary_of_one_status(status):
    figures = totals.Totals(2, 300, 1, 50, 4, 7)
    summary = figures.summary(status)
    assert (
        summary
        == {
            None: {"count": 7, "total": 300, "totalPaid": 50, "totalCancelled": 7},
            "Opened": {"count": 2, "total": 300, "totalPaid": 0, "totalCancelled": 0},
            "Paid": {"count": 1, "total": 0, "totalPaid": 50, "totalCancelled": 0},
            "Cancelled": {"count": 4, "total": 0, "totalPaid": 0, "totalCancelled": 7},
        }[status]
    )


def test_the_migration_fills_the_totals_from_the_invoices(api, database, store, tmp_path):
    """Down to 0014 and up again on a copy of the SQLite book (every store so far, this one's
    purchases included); on PostgreSQL, the migration's fill query into a scratch table."""
    from alembic import command
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    from customer_credit.db.migrate import alembic_config, upgrade
    from customer_credit.private_files import sqlite_path

    migration = importlib.import_module("customer_credit.db.migrations.versions.0015_invoice_totals")
    owner = open_account(api, credit_limit="1000")["id"]
    purchase(api, owner, "100", installments=3)
    first = invoices_of(api, owner)[0]
    assert api.post(f"/accounts/{owner}/invoices/{first['id']}/payments").status_code == 200
    if database.is_sqlite:
        copy = tmp_path / "copy.db"
        with sqlite3.connect(str(sqlite_path(database.url))) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        url = f"sqlite:///{copy}"
        command.downgrade(alembic_config(url), "0014_credit_notes_and_dunning")
        upgrade(url)
        engine = create_engine(url)
        try:
            with Session(engine) as session:
                filled = totals.stored_by_store(session)
                assert filled == totals.recomputed_by_store(session)
        finally:
            engine.dispose()
        assert filled[store.id] == recomputed(database, store.id)
        return
    with database.write() as session:
        session.execute(text("CREATE TEMPORARY TABLE scratch_totals (LIKE invoice_totals) ON COMMIT DROP"))
        session.execute(text(migration.FILL.replace("INTO invoice_totals", "INTO scratch_totals")))
        filled = {
            row[0]: totals.Totals(*row[1:])
            for row in session.execute(text(f"SELECT store_id, {migration.COLUMNS} FROM scratch_totals"))
        }
        assert filled == totals.recomputed_by_store(session)
    assert filled[store.id] == recomputed(database, store.id)
