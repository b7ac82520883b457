"""Payments received, as the ledger records them: a store's Payment entries between two moments,
reversals included (negative), newest first. The dashboard's "Paid this month" sums the same
entries, so the console's Payments page, opened from that card, lists what the card adds up.
Both read `ix_statements_store_origin_created` (migration 0019)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from customer_credit.accounts.models import Account
from customer_credit.invoices.ids import invoice_public_id
from customer_credit.ledger.models import PAYMENT, Statement


@dataclass(frozen=True)
class ReceivedEntry:
    id: int
    recorded_at: datetime
    account_public_id: str
    value_cents: int
    done_by: str
    invoice_public_id: str | None  # the invoice the payment went to, from the entry's metadata

    @property
    def reversal(self) -> bool:
        return self.value_cents < 0


@dataclass(frozen=True)
class Received:
    entries: list[ReceivedEntry]
    count: int
    total_cents: int


def _between(store_id: int, start: datetime, end: datetime) -> list:
    return [
        Statement.store_id == store_id,
        Statement.origin == PAYMENT,
        Statement.created_at >= start,
        Statement.created_at < end,
    ]


def received_between(
    session: Session, store_id: int, start: datetime, end: datetime, *, limit: int, offset: int = 0
) -> Received:
    """The Payment entries recorded from `start` (included) to `end` (excluded): a page of them,
    newest first, with the count and the sum of them all."""
    where = _between(store_id, start, end)
    count, total = session.execute(
        select(func.count(), func.coalesce(func.sum(Statement.value_cents), 0)).where(*where)
    ).one()
    rows = session.execute(
        select(
            Statement.id,
            Statement.created_at,
            Account.public_id,
            Statement.value_cents,
            Statement.done_by,
            Statement.meta,
        )
        .join(Account, Account.id == Statement.account_id)
        .where(*where)
        .order_by(Statement.created_at.desc(), Statement.id.desc())
        .limit(limit)
        .offset(offset)
    )
    entries = [
        ReceivedEntry(entry_id, at, account, cents, done_by, _invoice_of(meta))
        for entry_id, at, account, cents, done_by, meta in rows
    ]
    return Received(entries, int(count), int(total))


def _invoice_of(meta: dict | None) -> str | None:
    transaction, installment = (meta or {}).get("transactionId"), (meta or {}).get("installment")
    if not isinstance(transaction, str) or not isinstance(installment, int):
        return None
    return invoice_public_id(transaction, installment)
