"""`customer-credit check` bounds every transaction's releases by its settlement: cancellations
+ refunds (the paid excess given back included) ≤ settled, recomputed from the ledger."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from typer.testing import CliRunner

from customer_credit.accounts.models import Account
from customer_credit.invoices.models import CANCELLED, Invoice
from customer_credit.ledger.models import INVOICE, Statement
from customer_credit.ledger.service import recompute_mismatches
from customer_credit.transactions.models import SETTLED, Transaction
from tests.helpers import open_account, purchase

TRANSACTION_ID = "0123456789ABCDEF0123456789ABCDEF"
# The check reads amounts, never dates: any fixed moment will do, as long as the rows written
# here and those the API writes (on the frozen app clock) share it.
NOW = datetime(2031, 1, 31, 23, 30, tzinfo=UTC)


def write_refund_after_cancellation(database, store, account_public_id: str) -> int:
    """The books the old refund left: settled 100, the invoice cancelled (+100), then a refund
    of 100 given back in full (+100). Balance and held credit agree with the entries; only the
    transaction's releases (200) exceed its settlement (100). Written straight through the
    session, as no service allows it any more."""
    with database.write() as session:
        row = session.scalar(
            select(Account).where(Account.store_id == store.id, Account.public_id == account_public_id)
        )
        transaction = Transaction(
            store_id=store.id,
            account_id=row.id,
            public_id=TRANSACTION_ID,
            settle=True,
            installments=1,
            hold_cents=0,
            original_hold_cents=10_000,
            settled_cents=10_000,
            refunded_cents=10_000,
            refund_excess_cents=10_000,
            friendly_prefix="Broken01",
            status=SETTLED,
            created_at=NOW,
            updated_at=NOW,
            settled_at=NOW,
        )
        session.add(transaction)
        session.flush()
        session.add(
            Invoice(
                store_id=store.id,
                account_id=row.id,
                transaction_id=transaction.id,
                public_id=f"{TRANSACTION_ID}-01",
                friendly_id="Broken01-1",
                installment=1,
                number_of_installments=1,
                value_cents=10_000,
                paid_cents=0,
                status=CANCELLED,
                due_at=NOW + timedelta(days=30),
                original_due_at=NOW + timedelta(days=30),
                created_at=NOW,
                updated_at=NOW,
                resolved_at=NOW,
            )
        )
        for value, meta in (
            (-10_000, {"transactionId": TRANSACTION_ID, "orderId": None, "numberOfInstallments": 1}),
            (10_000, {"transactionId": TRANSACTION_ID, "installment": 1, "cancelled": True}),
            (10_000, {"transactionId": TRANSACTION_ID, "refund": True}),
        ):
            session.add(
                Statement(
                    store_id=store.id,
                    account_id=row.id,
                    origin=INVOICE,
                    value_cents=value,
                    done_by="tampering@example.com",
                    meta=meta,
                    created_at=NOW,
                )
            )
        row.balance_cents += 10_000
        return row.id


def test_check_flags_releases_beyond_the_settlement(api, database, store, frozen_clock):
    frozen_clock.set(NOW)
    opened = open_account(api, credit_limit="1000")
    account_pk = write_refund_after_cancellation(database, store, opened["id"])
    with database.read() as session:
        found = recompute_mismatches(session, store.id)
    assert [(m.account_id, m.field, m.stored, m.recomputed) for m in found] == [
        (account_pk, f"transaction {TRANSACTION_ID} given back above settled", 20_000, 10_000)
    ]


def test_the_check_command_fails_on_those_books(
    api, database, store, settings, tmp_path, monkeypatch, frozen_clock
):
    from customer_credit import cli
    from customer_credit.settings import get_settings

    frozen_clock.set(NOW)
    opened = open_account(api, credit_limit="1000")
    write_refund_after_cancellation(database, store, opened["id"])
    monkeypatch.setenv("CUSTOMER_CREDIT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CUSTOMER_CREDIT_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["check", "--store", store.name])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1, result.output
    assert f"transaction {TRANSACTION_ID} given back above settled" in result.output
    assert "1 mismatches" in result.output


def test_check_agrees_with_stored_transaction_totals(api, database, store, frozen_clock):
    """The stored settled and refunded values are compared with the entries too."""
    frozen_clock.set(NOW)
    opened = open_account(api, credit_limit="1000")
    transaction_id = purchase(api, opened["id"], "100", installments=2)
    refunded = api.post(
        f"/accounts/{opened['id']}/transactions/{transaction_id}/refunds", json={"value": "20"}
    )
    assert refunded.status_code == 200, refunded.text
    with database.read() as session:
        assert recompute_mismatches(session, store.id) == []

    class Rollback(Exception):
        pass

    try:
        with database.write() as session:
            transaction = session.scalar(
                select(Transaction).where(
                    Transaction.store_id == store.id, Transaction.public_id == transaction_id
                )
            )
            transaction.refunded_cents = 1_000
            session.flush()
            found = recompute_mismatches(session, store.id)
            raise Rollback
    except Rollback:
        pass
    assert [(m.field, m.stored, m.recomputed) for m in found] == [
        (f"transaction {transaction_id} refunded", 1_000, 2_000)
    ]
