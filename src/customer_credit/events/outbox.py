"""The transactional outbox: `record` writes an event row in the caller's transaction, so a
change and its event commit (or roll back) together.

Ledger entries appended in the same transaction (ledger.service.append_entry notes them in
`session.info`) are attached to the next event recorded for their account, so a receiver
sees exactly the entries each change wrote."""

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy import event as sa_event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from customer_credit.accounts.figures import available_balance_cents, available_credit_cents
from customer_credit.accounts.models import Account
from customer_credit.api.wire import dumps, timestamp
from customer_credit.db.base import utcnow
from customer_credit.events.models import Event, EventSequence
from customer_credit.events.types import EVENT_TYPES, INVOICE_CHANGED
from customer_credit.invoices.ids import transaction_public_id_of
from customer_credit.invoices.models import Invoice
from customer_credit.ledger.models import Statement
from customer_credit.ledger.schemas import statement_wire
from customer_credit.money import from_cents, rate_for_wire, rate_from_units
from customer_credit.transactions.models import Transaction

PENDING_ENTRIES = "customer_credit.pending_ledger_entries"
SEQUENCE_BATCH = 1000


@sa_event.listens_for(Session, "after_commit")
@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_pending_entries(session: Session, *_args) -> None:
    session.info.pop(PENDING_ENTRIES, None)


def new_event_id() -> str:
    return "evt_" + uuid.uuid4().hex


def account_snapshot(account: Account) -> dict:
    return {
        "id": account.public_id,
        "status": account.status,
        "document": account.document,
        "documentType": account.document_type,
        "email": account.email,
        "creditLimit": from_cents(account.credit_limit_cents),
        "tolerance": rate_for_wire(rate_from_units(account.tolerance_units)),
        "balance": from_cents(account.balance_cents),
        "preAuthorizedCredit": from_cents(account.pre_authorized_cents),
        "availableBalance": from_cents(available_balance_cents(account)),
        "availableCredit": from_cents(available_credit_cents(account)),
    }


def transaction_snapshot(transaction: Transaction) -> dict:
    return {
        "id": transaction.public_id,
        "orderId": transaction.order_id,
        "status": transaction.status,
        "settle": transaction.settle,
        "installments": transaction.installments,
        "value": from_cents(transaction.original_hold_cents),
        "heldValue": from_cents(transaction.hold_cents),
        "settledValue": from_cents(transaction.settled_cents or 0),
        "refundedValue": from_cents(transaction.refunded_cents or 0),
        "expirationDate": timestamp(transaction.expires_at),
    }


def invoice_snapshot(invoice: Invoice) -> dict:
    return {
        "id": invoice.public_id,
        "friendlyId": invoice.friendly_id,
        "status": invoice.status,
        "value": from_cents(invoice.value_cents),
        "creditValue": from_cents(invoice.paid_cents or 0),
        "dueDate": timestamp(invoice.due_at),
        "originalDueDate": timestamp(invoice.original_due_at),
        "installment": invoice.installment,
        "numberOfInstallments": invoice.number_of_installments,
        "transactionId": transaction_public_id_of(invoice.public_id),
        "orderId": invoice.order_id,
        "postponements": invoice.postponement_count or 0,
        "creditedValue": from_cents(invoice.credited_cents or 0),
        "writtenOffValue": from_cents(invoice.written_off_cents or 0),
        "observation": invoice.observation,
        "paymentLink": invoice.payment_link,
        "resolvedAt": timestamp(invoice.resolved_at),
    }


def _entry_snapshot(entry: Statement) -> dict:
    if entry.created_at is None:
        entry.created_at = utcnow()
    return statement_wire(entry)


def _take_pending_entries(session: Session, account: Account) -> list[Statement]:
    pending = session.info.get(PENDING_ENTRIES)
    if not pending:
        return []
    mine = [entry for entry in pending if entry.account_id == account.id]
    if mine:
        session.info[PENDING_ENTRIES] = [entry for entry in pending if entry.account_id != account.id]
    return mine


def note_ledger_entry(session: Session, entry: Statement) -> None:
    """Called by ledger.service.append_entry: the entry goes out with the next event."""
    session.info.setdefault(PENDING_ENTRIES, []).append(entry)


def record(
    session: Session,
    event_type: str,
    *,
    account: Account,
    transaction: Transaction | None = None,
    invoice: Invoice | None = None,
    changes: dict | None = None,
    ledger: bool = True,
    at: datetime | None = None,
) -> str:
    """Writes one event in the caller's transaction, describing the state after the change;
    returns its id."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type}")
    if account.id is None:
        session.flush()
    at = at or utcnow()
    data: dict = {"account": account_snapshot(account)}
    if transaction is not None:
        data["transaction"] = transaction_snapshot(transaction)
    if invoice is not None:
        data["invoice"] = invoice_snapshot(invoice)
    if changes:
        data["changes"] = changes
    entries = _take_pending_entries(session, account) if ledger else []
    data["ledgerEntries"] = [_entry_snapshot(entry) for entry in entries]
    public_id = new_event_id()
    body = dumps({"id": public_id, "type": event_type, "timestamp": timestamp(at), "data": data})
    # A Core insert on the transaction's connection: cheaper than an ORM object, and the row
    # is written at once, in the order the changes happened.
    session.connection().execute(
        # DeclarativeBase types __table__ as any FromClause; a mapped class's is its Table.
        insert(cast(Table, Event.__table__)),
        {
            "public_id": public_id,
            "store_id": account.store_id,
            "account_id": account.id,
            "type": event_type,
            "occurred_at": at,
            "body": body.decode(),
        },
    )
    return public_id


def record_for_invoice(
    session: Session, event_type: str, invoice: Invoice, *, changes: dict | None = None
) -> str:
    """For code that holds the invoice but not its (already locked) account."""
    account = session.get_one(Account, invoice.account_id)
    return record(session, event_type, account=account, invoice=invoice, changes=changes, ledger=False)


def sequence_pending(session: Session, *, limit: int = SEQUENCE_BATCH) -> int:
    """Gives committed events their `seq`, in id order. Run in its own short transaction; the
    sequence row lock makes concurrent sequencers take turns."""
    counter = session.scalar(select(EventSequence).where(EventSequence.id == 1).with_for_update())
    if counter is None:
        counter = EventSequence(id=1, last_seq=0)
        session.add(counter)
        session.flush()
    ids = session.scalars(select(Event.id).where(Event.seq.is_(None)).order_by(Event.id).limit(limit)).all()
    if not ids:
        return 0
    start = counter.last_seq
    session.execute(
        update(Event),
        [{"id": event_id, "seq": start + offset} for offset, event_id in enumerate(ids, start=1)],
    )
    counter.last_seq = start + len(ids)
    return len(ids)


def sequence_job(session: Session, _now: datetime) -> int:
    return sequence_pending(session)


def events_after(session: Session, store_id: int, after: int, limit: int) -> list[Event]:
    return list(
        session.scalars(
            select(Event)
            .where(Event.store_id == store_id, Event.seq.is_not(None), Event.seq > after)
            .order_by(Event.seq)
            .limit(limit)
        )
    )


_WIRE_NAMES = {"observation": "observation", "payment_link": "paymentLink"}


def record_if_changed(
    session: Session,
    invoice: Invoice,
    fields: tuple[str, ...],
    *,
    account: Account,
    at: datetime | None = None,
) -> str | None:
    """`invoice.changed` when any of `fields` changed in this (not yet flushed) unit of work."""
    state = sa_inspect(invoice)
    changes = {}
    for name in fields:
        history = state.attrs[name].history
        if history.has_changes():
            before = history.deleted[0] if history.deleted else None
            changes[_WIRE_NAMES.get(name, name)] = {"from": before, "to": getattr(invoice, name)}
    if not changes:
        return None
    return record(
        session, INVOICE_CHANGED, account=account, invoice=invoice, changes=changes, ledger=False, at=at
    )
