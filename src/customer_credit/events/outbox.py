"""The transactional outbox: `record` writes an event row in the caller's transaction, so a
change and its event commit (or roll back) together.

Ledger entries appended in the same transaction (ledger.service.append_entry notes them in
`session.info`) are attached to the next event recorded for their account, so a receiver
sees exactly the entries each change wrote.

An event's body is built when it is recorded (the state right after its change); its row waits
in `session.info` and all the rows of a transaction are written just before it commits, in one
multi-row INSERT in the order they were recorded, so their ids keep the order of the changes
(a settlement and its invoices: one INSERT instead of four). Rows recorded inside a savepoint
that rolls back are dropped with it."""

import functools
import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import Table, TextClause, bindparam, select, text, update
from sqlalchemy import event as sa_event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session
from sqlalchemy.sql.util import find_tables

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
PENDING_EVENTS = "customer_credit.pending_events"
SAVEPOINT_MARKS = "customer_credit.pending_events_savepoints"
SEQUENCE_BATCH = 1000
EVENTS_PER_INSERT = 100  # × 6 columns, well within SQLite's 999 bound parameters
_EVENTS_TABLE = cast(Table, Event.__table__)  # a mapped class's __table__ is its Table
_EVENT_COLUMNS = ("public_id", "store_id", "account_id", "type", "occurred_at", "body")


@sa_event.listens_for(Session, "after_commit")
@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_pending_entries(session: Session, *_args) -> None:
    session.info.pop(PENDING_ENTRIES, None)


def enqueue(session: Session, row: dict) -> None:
    """Adds an events row to those the transaction writes when it commits."""
    session.info.setdefault(PENDING_EVENTS, []).append(row)


@sa_event.listens_for(Session, "before_commit")
def _write_pending_events(session: Session) -> None:
    # Only when the transaction itself commits: the release of a savepoint leaves its rows
    # pending, as part of the enclosing transaction.
    if session.get_nested_transaction() is None:
        _write_pending(session)


def _write_pending(session: Session) -> None:
    rows = session.info.pop(PENDING_EVENTS, None)
    if rows:
        connection = session.connection()
        # Batches keep a bulk job within SQLite's limit on bound parameters.
        for start in range(0, len(rows), EVENTS_PER_INSERT):
            batch = rows[start : start + EVENTS_PER_INSERT]
            connection.execute(
                _insert_of(len(batch)),
                {f"{name}_{n}": row[name] for n, row in enumerate(batch) for name in _EVENT_COLUMNS},
            )


@functools.cache
def _insert_of(count: int) -> TextClause:
    """INSERT … VALUES of `count` rows, one statement (executemany would send one per row); the
    database numbers the rows in the order of the list. SQL text, built once per count: an
    insert().values([...]) of several rows is compiled again at every execution."""
    rows = ", ".join("(" + ", ".join(f":{name}_{n}" for name in _EVENT_COLUMNS) + ")" for n in range(count))
    columns = ", ".join(_EVENT_COLUMNS)
    return text(f"INSERT INTO {_EVENTS_TABLE.name} ({columns}) VALUES {rows}").bindparams(
        *[
            bindparam(f"{name}_{n}", type_=_EVENTS_TABLE.c[name].type)
            for n in range(count)
            for name in _EVENT_COLUMNS
        ]
    )


@sa_event.listens_for(Session, "do_orm_execute")
def _write_pending_events_before_reading_them(state) -> None:
    """A transaction that queries the events table sees the events it recorded itself (outside
    savepoints: rows written inside one would be lost with it, though recorded before it)."""
    session = state.session
    if (
        session.info.get(PENDING_EVENTS)
        and session.get_nested_transaction() is None
        and _EVENTS_TABLE in find_tables(state.statement)
    ):
        _write_pending(session)


@sa_event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction) -> None:
    if transaction.nested:
        pending = session.info.get(PENDING_EVENTS)
        session.info.setdefault(SAVEPOINT_MARKS, {})[transaction] = len(pending) if pending else 0


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back_events(session: Session, rolled_back) -> None:
    if not rolled_back.nested:
        session.info.pop(PENDING_EVENTS, None)
        session.info.pop(SAVEPOINT_MARKS, None)
        return
    mark = session.info.get(SAVEPOINT_MARKS, {}).pop(rolled_back, 0)
    pending = session.info.get(PENDING_EVENTS)
    if pending:
        del pending[mark:]


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_pending_events(session: Session, transaction) -> None:
    # At the end of the transaction itself (a savepoint's mark stays until then: a rollback
    # reports after the end).
    if not transaction.nested and transaction.parent is None:
        # Commit wrote them; a rollback, or a session closed without committing, drops them.
        session.info.pop(PENDING_EVENTS, None)
        session.info.pop(SAVEPOINT_MARKS, None)


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
    # A plain row rather than an ORM object: cheaper, and written with the transaction's other
    # events in one INSERT (see the module's docstring).
    enqueue(
        session,
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
