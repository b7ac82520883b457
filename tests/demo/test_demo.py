"""`customer-credit demo`: a realistic book written through the bulk path, on both databases,
whose ledger `customer-credit check` finds balanced, and which the API reads like any other."""

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from customer_credit.accounts.models import Account, Holder
from customer_credit.auth.resources import MAIN_ACCESS
from customer_credit.auth.service import create_key
from customer_credit.demo.service import load_demo
from customer_credit.invoices.models import CANCELLED, OPENED, PAID, Invoice
from customer_credit.ledger.models import CREDIT, INVOICE, PAYMENT, Statement
from customer_credit.ledger.service import recompute_mismatches
from customer_credit.money import from_cents
from customer_credit.stores.models import Store
from customer_credit.transactions.models import AUTHORIZED, SETTLED, Transaction

ACCOUNTS = 60
INVOICES = 700
# The book is dated around this moment: late on a month's last day, so the 60-day due-date
# window asked of the API (2 December to 1 April, days in UTC, the demo store's zone) spans a
# year end and a short February.
NOW = datetime(2031, 1, 31, 23, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_store(database):
    """One demo load per database for the whole module (the load is the slow part)."""
    name = f"demo-{uuid.uuid4().hex[:10]}"
    report = load_demo(
        database,
        store_name=name,
        accounts=ACCOUNTS,
        invoices=INVOICES,
        seed=11,
        accounts_per_batch=25,
        now=NOW,
    )
    return report


def _rows(database, model, store_id):
    with database.read() as session:
        rows = list(session.scalars(select(model).where(model.store_id == store_id)))
        session.expunge_all()  # keep them loaded after the read's rollback
        return rows


def test_check_finds_no_mismatch_after_the_load(database, demo_store):
    with database.read() as session:
        assert recompute_mismatches(session, demo_store.store_id) == []


def test_the_exact_numbers_asked_for_are_written(database, demo_store):
    with database.read() as session:
        accounts = session.scalar(select(func.count()).where(Account.store_id == demo_store.store_id))
        invoices = session.scalar(select(func.count()).where(Invoice.store_id == demo_store.store_id))
    assert (accounts, invoices) == (ACCOUNTS, INVOICES)
    assert (demo_store.accounts, demo_store.invoices) == (ACCOUNTS, INVOICES)


def test_the_book_has_every_kind_of_invoice(database, demo_store):
    invoices = _rows(database, Invoice, demo_store.store_id)
    statuses = {invoice.status for invoice in invoices}
    assert statuses == {OPENED, PAID, CANCELLED}
    assert any(i.status == OPENED and i.due_at < NOW for i in invoices), "no overdue invoice"
    postponed = [i for i in invoices if i.postponement_count > 0]
    assert postponed and all(i.status == OPENED and i.due_at > i.original_due_at for i in postponed)
    assert any(i.status == OPENED and 0 < i.paid_cents < i.value_cents for i in invoices), (
        "no partial payment"
    )
    assert any(i.observation for i in invoices)
    assert all((i.resolved_at is None) == (i.status == OPENED) for i in invoices)
    assert all(i.paid_cents == i.value_cents for i in invoices if i.status == PAID)


def test_accounts_have_holders_and_live_holds(database, demo_store):
    holders = _rows(database, Holder, demo_store.store_id)
    transactions = _rows(database, Transaction, demo_store.store_id)
    assert holders and len({h.email for h in holders}) == len(holders)
    assert any(t.status == AUTHORIZED and t.hold_cents > 0 for t in transactions)
    assert all(1 <= t.installments <= 12 for t in transactions)


def test_settlements_are_split_and_dated_like_the_service_does(database, demo_store):
    transactions = {t.id: t for t in _rows(database, Transaction, demo_store.store_id) if t.status == SETTLED}
    by_transaction = defaultdict(list)
    for invoice in _rows(database, Invoice, demo_store.store_id):
        by_transaction[invoice.transaction_id].append(invoice)
    assert set(by_transaction) == set(transactions)
    for transaction_id, invoices in by_transaction.items():
        transaction = transactions[transaction_id]
        invoices.sort(key=lambda invoice: invoice.installment)
        count = transaction.installments
        assert [i.installment for i in invoices] == list(range(1, count + 1))
        assert sum(i.value_cents for i in invoices) == transaction.settled_cents
        # Leftover cents go to the first installments, one each.
        assert max(i.value_cents for i in invoices) - min(i.value_cents for i in invoices) <= 1
        assert [i.value_cents for i in invoices] == sorted((i.value_cents for i in invoices), reverse=True)
        for invoice in invoices:
            assert invoice.public_id == f"{transaction.public_id}-{invoice.installment:02d}"
            assert invoice.friendly_id == f"{transaction.friendly_prefix}-{invoice.installment}"
            assert invoice.number_of_installments == count
            assert invoice.original_due_at - transaction.settled_at == timedelta(
                days=30 * invoice.installment
            )


def test_every_change_has_its_ledger_entry(database, demo_store):
    """A settlement entry per purchase, a Payment per paid amount, an Invoice entry per
    cancellation, with the metadata the services write."""
    store_id = demo_store.store_id
    entries = _rows(database, Statement, store_id)
    transactions = {t.public_id: t for t in _rows(database, Transaction, store_id)}
    settlements = [e for e in entries if e.origin == INVOICE and "numberOfInstallments" in e.meta]
    assert sorted(e.meta["transactionId"] for e in settlements) == sorted(
        public for public, t in transactions.items() if t.status == SETTLED
    )
    for entry in settlements:
        assert entry.value_cents == -transactions[entry.meta["transactionId"]].settled_cents
    payments = defaultdict(int)
    cancellations = {}
    for entry in entries:
        key = (entry.meta.get("transactionId"), entry.meta.get("installment"))
        if entry.origin == PAYMENT:
            payments[key] += entry.value_cents
        elif entry.origin == INVOICE and entry.meta.get("cancelled"):
            cancellations[key] = entry.value_cents
    for invoice in _rows(database, Invoice, store_id):
        key = (invoice.public_id.rsplit("-", 1)[0], invoice.installment)
        assert payments.get(key, 0) == invoice.paid_cents
        if invoice.status == CANCELLED:
            assert cancellations[key] == invoice.value_cents - invoice.paid_cents
        else:
            assert key not in cancellations
    assert all(e.origin != CREDIT or "creditLimit" in e.meta for e in entries)


def test_every_account_can_still_buy(database, demo_store):
    for account in _rows(database, Account, demo_store.store_id):
        available = account.credit_limit_cents + account.balance_cents - account.pre_authorized_cents
        assert available > 0, account.public_id


def test_the_api_reads_the_demo_book(database, demo_store, http, frozen_clock):
    """Rows written by the bulk path read back through the API, and SQL date comparisons on
    them agree with Python's (on SQLite dates are text: the format must be SQLAlchemy's)."""
    frozen_clock.set(NOW)
    with database.write() as session:
        issued = create_key(session, session.get(Store, demo_store.store_id), [MAIN_ACCESS])
    headers = {"X-VTEX-API-AppKey": issued.app_key, "X-VTEX-API-AppToken": issued.app_token}
    base = "/api/creditcontrol"
    everything = http.get(f"{base}/invoices", headers=headers)
    assert everything.status_code == 200, everything.text
    assert everything.json()["summary"]["count"] == INVOICES
    invoices = _rows(database, Invoice, demo_store.store_id)
    start, end = (NOW - timedelta(days=60)).date(), (NOW + timedelta(days=60)).date()
    expected = [i for i in invoices if i.status == OPENED and start <= i.due_at.date() <= end]
    found = http.get(
        f"{base}/invoices",
        params={
            "status": "Opened",
            "dueDateFrom": start.isoformat(),
            "dueDateTo": end.isoformat(),
            "from": 1,
            "to": 1000,
        },
        headers=headers,
    )
    assert found.status_code == 200, found.text
    assert found.json()["summary"]["count"] == len(expected)
    assert sorted(item["id"] for item in found.json()["data"]) == sorted(i.public_id for i in expected)
    sample = invoices[len(invoices) // 2]
    with database.read() as session:
        owner = session.get(Account, sample.account_id)
        session.expunge_all()
    account = http.get(f"{base}/accounts/{owner.public_id}", headers=headers)
    assert account.status_code == 200
    assert Decimal(str(account.json()["balance"])) == from_cents(owner.balance_cents)
    one = http.get(f"{base}/accounts/{owner.public_id}/invoices/{sample.public_id}", headers=headers)
    assert one.status_code == 200 and one.json()["status"] == sample.status


def test_loading_again_adds_to_the_same_store(database, demo_store):
    """A second load with the same seed must not collide with the first one's ids."""
    again = load_demo(database, store_name=demo_store.store, accounts=10, invoices=50, seed=11, now=NOW)
    assert again.store_id == demo_store.store_id
    with database.read() as session:
        assert recompute_mismatches(session, demo_store.store_id) == []
        count = session.scalar(select(func.count()).where(Account.store_id == demo_store.store_id))
    assert count == ACCOUNTS + 10


def test_the_demo_command(tmp_path, monkeypatch):
    """`customer-credit demo` on an embedded database: progress, a summary, a clean check."""
    from customer_credit import cli
    from customer_credit.settings import get_settings

    monkeypatch.setenv("CUSTOMER_CREDIT_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    monkeypatch.setenv("CUSTOMER_CREDIT_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            cli.app, ["demo", "--accounts", "20", "--invoices", "150", "--store", "shop"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "20 accounts" in result.output and "150 invoices" in result.output
    assert "check: 0 mismatches" in result.output
