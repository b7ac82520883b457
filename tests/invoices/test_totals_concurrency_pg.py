"""The stores' invoice totals under real concurrency on PostgreSQL: threads, each with its own
connection, run purchase cycles at once (on accounts of their own and on one shared account,
so they meet on the totals' stripes and on the account lock); afterwards the totals equal a
recomputation from the invoices, and the books balance."""

import threading
from decimal import Decimal

import pytest

from customer_credit.invoices import service as invoices
from customer_credit.invoices import totals
from customer_credit.ledger.service import recompute_mismatches
from customer_credit.transactions import service as transactions
from tests.helpers import open_account

pytestmark = pytest.mark.postgresql_only
THREADS = 8
CYCLES = 4


def cycle(database, principal, account_id: str) -> None:
    """Hold → settle in 3 → pay the first wholly, the second partly, cancel the third: each in
    its own transaction, like the API's requests."""
    with database.write() as session:
        transaction_id = transactions.create_hold(
            session, principal, account_id, value=Decimal("30"), settle=True, installments=3
        ).public_id
    with database.write() as session:
        transactions.settle(session, principal, account_id, transaction_id, value=Decimal("30"))
    with database.write() as session:
        invoices.pay_invoice(session, principal, account_id, f"{transaction_id}-01")
    with database.write() as session:
        invoices.pay_invoice(session, principal, account_id, f"{transaction_id}-02", value=Decimal("4"))
    with database.write() as session:
        invoices.cancel_invoice(session, principal, account_id, f"{transaction_id}-03")


def test_concurrent_purchase_cycles_keep_the_totals_exact(database, api, store):
    if database.is_sqlite:
        pytest.skip("real concurrency is tested on PostgreSQL; SQLite serialises every writer")
    principal = store.principal()
    own = [open_account(api, credit_limit="100000")["id"] for _ in range(THREADS // 2)]
    shared = open_account(api, credit_limit="100000")["id"]
    targets = own + [shared] * (THREADS - len(own))
    barrier = threading.Barrier(THREADS)
    failures: list[str] = []

    def run(account_id: str) -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(CYCLES):
                cycle(database, principal, account_id)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(repr(error))

    threads = [threading.Thread(target=run, args=(account_id,)) for account_id in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert failures == []

    with database.read() as session:
        stored = totals.stored(session, store.id)
        assert stored == totals.recomputed_by_store(session, store.id)[store.id]
        assert recompute_mismatches(session, store.id) == []
        rows = session.query(totals.InvoiceTotals).filter_by(store_id=store.id).count()
    runs = THREADS * CYCLES
    assert stored == totals.Totals(runs, runs * 1000, runs, runs * 1000, runs, runs * 1000)
    # The writers spread over several rows instead of queueing on one.
    assert 1 < rows <= totals.STRIPES
