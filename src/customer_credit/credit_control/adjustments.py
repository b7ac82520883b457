"""Credit notes and write-offs: numbered documents that take part of what is owed off an Opened
invoice (docs/credit-control.md).

Both lower the invoice's value by the amount, as a refund does, and record it on the invoice
(`credited_cents`, `written_off_cents`) and as a document of their own; an invoice left owing
nothing is resolved: Paid when something was paid on it, else Cancelled (what `lower_open_invoices`
does for a refund). The ledger gets an Invoice entry of +amount (the customer owes that much
less), whose metadata names the document, so `check` can tell them from cancellations and
refunds and bound all of them by what the transaction settled (transactions.returns).

A document is applied once: its number is the store's next one of its kind, and a client's own
`reference` (its ERP's document id) names at most one document; sending the same reference with
the same invoice and amount again answers the document already made and changes nothing."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from customer_credit import events
from customer_credit.accounts.models import Account
from customer_credit.auth.principal import Principal
from customer_credit.credit_control.models import (
    ADJUSTMENT_KINDS,
    CREDIT_NOTE,
    WRITE_OFF,
    DocumentCounter,
    InvoiceAdjustment,
)
from customer_credit.dates import timestamp
from customer_credit.errors import Conflict, field_error
from customer_credit.invoices import issuing
from customer_credit.invoices import service as invoices
from customer_credit.invoices.ids import transaction_public_id_of
from customer_credit.invoices.models import CANCELLED, PAID, Invoice
from customer_credit.ledger import service as ledger
from customer_credit.ledger.models import INVOICE
from customer_credit.money import from_cents, to_cents
from customer_credit.validation import clean_text

MAX_REASON = 500
MAX_REFERENCE = 200


@dataclass(frozen=True)
class Kind:
    """What differs between a credit note and a write-off."""

    name: str  # as stored
    wire: str  # as the API and the ledger metadata name it
    label: str  # in messages
    prefix: str  # of the document number
    event: str
    exceeds_code: str


KINDS = {
    CREDIT_NOTE: Kind(
        CREDIT_NOTE,
        "creditNote",
        "credit note",
        "CN",
        events.INVOICE_CREDIT_NOTE_ISSUED,
        "CreditNoteExceedsOwed",
    ),
    WRITE_OFF: Kind(
        WRITE_OFF, "writeOff", "write-off", "WO", events.INVOICE_WRITTEN_OFF, "WriteOffExceedsOwed"
    ),
}
assert set(KINDS) == set(ADJUSTMENT_KINDS)
WIRE_KINDS = {kind.wire: kind for kind in KINDS.values()}


def kind_of_wire(raw: str | None) -> Kind | None:
    """None for no filter; a 400 naming `type` for an unknown one."""
    if raw is None or raw == "":
        return None
    if raw not in WIRE_KINDS:
        raise field_error("type", f"must be one of {', '.join(WIRE_KINDS)}")
    return WIRE_KINDS[raw]


def positive_cents(field: str, value: Decimal) -> int:
    """Whole cents, more than 0 (the wire types already refuse a third decimal place)."""
    if value != value.quantize(Decimal("0.01")):
        raise field_error(field, "must have at most 2 decimal places")
    cents = to_cents(value)
    if cents <= 0:
        raise field_error(field, "must be greater than 0")
    return cents


def clean_reference(reference: str | None) -> str | None:
    if reference is None:
        return None
    reference = clean_text("reference", reference.strip(), max_length=MAX_REFERENCE, allow_newlines=False)
    return reference or None


def _clean_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise field_error("reason", "is required: say why the invoice is reduced")
    return clean_text("reason", reason, max_length=MAX_REASON)


def next_number(session: Session, store_id: int, kind: str) -> int:
    """The store's next document number of `kind`. The counter row stays locked until the
    caller's transaction ends, so numbers are never given twice and have no gaps."""
    table = cast(Table, DocumentCounter.__table__)
    bump = (
        update(table)
        .where(table.c.store_id == store_id, table.c.kind == kind)
        .values(last=table.c.last + 1)
        .returning(table.c.last)
    )
    number = session.execute(bump).scalar_one_or_none()
    if number is not None:
        return number
    try:
        with session.begin_nested():
            session.execute(insert(table).values(store_id=store_id, kind=kind, last=1))
        return 1
    except IntegrityError:
        # Another transaction made the store's first counter at the same moment.
        return session.execute(bump).scalar_one()


def document_number(kind: Kind, number: int) -> str:
    return f"{kind.prefix}-{number:06d}"


def add_once(session: Session, row, holder: str, *, code: str) -> None:
    """Inserts `row`, whose client reference has a unique key, in a savepoint: a concurrent
    request that took the same reference a moment ago makes it a 409 (sent again, the request
    then finds that one's outcome)."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(
            f"the reference {row.reference} is being used by {holder} right now; send it again", code=code
        ) from None


def replay_of(session: Session, query, invoice: Invoice, cents: int, *, taken_by, code: str):
    """The row `query` finds for a client reference when it is this very request again (same
    invoice, same amount); None when the reference is new. The same reference for anything else
    is a 409 `code` whose message says what holds it (`taken_by(row)`)."""
    existing = session.scalar(query)
    if existing is None:
        return None
    if existing.invoice_id != invoice.id or existing.amount_cents != cents:
        raise Conflict(
            f"the reference {existing.reference} already names {taken_by(existing)} "
            f"({from_cents(existing.amount_cents)} on another request)",
            code=code,
        )
    return existing


def _refuse_unless_owed(invoice: Invoice, kind: Kind, cents: int) -> None:
    if invoice.status == CANCELLED:
        raise Conflict(
            f"a cancelled invoice owes nothing: no {kind.label} can apply", code="InvoiceCancelled"
        )
    if invoice.status == PAID:
        raise Conflict(
            f"the invoice is paid: nothing is owed for a {kind.label} to reduce "
            "(refund the purchase instead)",
            code="InvoiceAlreadyPaid",
        )
    owed = invoice.value_cents - invoice.paid_cents
    if cents > owed:
        raise Conflict(
            f"the {kind.label} ({from_cents(cents)}) exceeds what is owed on the invoice "
            f"({from_cents(owed)})",
            code=kind.exceeds_code,
        )


def issue(
    session: Session,
    principal: Principal,
    account_public_id: str,
    invoice_id: str,
    *,
    kind: str,
    value: Decimal,
    reason: str | None,
    reference: str | None = None,
    now: datetime,
) -> tuple[InvoiceAdjustment, bool]:
    """Makes a credit note or a write-off of `value` on the invoice. Returns the document and
    whether it is new (False: the same reference was sent again)."""
    spec = KINDS[kind]
    cents = positive_cents("value", value)
    reason = _clean_reason(reason)
    reference = clean_reference(reference)
    account, invoice = invoices.lock_invoice(session, principal, account_public_id, invoice_id)
    if reference is not None:
        existing = replay_of(
            session,
            select(InvoiceAdjustment).where(
                InvoiceAdjustment.store_id == principal.store_id,
                InvoiceAdjustment.kind == spec.name,
                InvoiceAdjustment.reference == reference,
            ),
            invoice,
            cents,
            taken_by=lambda document: f"{spec.label} {document.number}",
            code="AdjustmentReferenceReused",
        )
        if existing is not None:
            return existing, False
    _refuse_unless_owed(invoice, spec, cents)
    document = InvoiceAdjustment(
        store_id=principal.store_id,
        account_id=account.id,
        invoice_id=invoice.id,
        kind=spec.name,
        number=document_number(spec, next_number(session, principal.store_id, spec.name)),
        amount_cents=cents,
        reason=reason,
        reference=reference,
        created_by=principal.name[:254],
        created_at=now,
    )
    add_once(session, document, f"another {spec.label}", code="AdjustmentReferenceReused")
    _reduce(session, principal, account, invoice, spec, document, now)
    return document, True


def _reduce(
    session, principal, account: Account, invoice: Invoice, spec: Kind, document, now: datetime
) -> None:
    cents = document.amount_cents
    previous_value = invoice.value_cents
    invoice.value_cents -= cents
    if spec.name == CREDIT_NOTE:
        invoice.credited_cents += cents
    else:
        invoice.written_off_cents += cents
    invoice.updated_at = now
    issuing.resolve_if_nothing_owed(invoice, now)
    ledger.append_entry(
        session,
        account,
        origin=INVOICE,
        value_cents=cents,
        done_by=principal.name,
        meta={
            "transactionId": transaction_public_id_of(invoice.public_id),
            "installment": invoice.installment,
            spec.wire: document.number,
            "reason": document.reason,
        },
        at=now,
    )
    account.updated_at = now
    events.record(
        session,
        spec.event,
        account=account,
        invoice=invoice,
        changes={
            spec.wire: adjustment_wire(document, invoice, account.public_id),
            "value": {"from": from_cents(previous_value), "to": from_cents(invoice.value_cents)},
        },
        at=now,
    )


def adjustment_wire(document: InvoiceAdjustment, invoice: Invoice, account_public_id: str) -> dict:
    return {
        "number": document.number,
        "type": KINDS[document.kind].wire,
        "value": from_cents(document.amount_cents),
        "reason": document.reason,
        "reference": document.reference,
        "invoiceId": invoice.public_id,
        "friendlyId": invoice.friendly_id,
        "creditAccountId": account_public_id,
        "createdBy": document.created_by,
        "createdAt": timestamp(document.created_at),
    }


def list_adjustments(
    session: Session,
    store_id: int,
    *,
    kind: Kind | None = None,
    account_id: int | None = None,
    invoice_pk: int | None = None,
    offset: int = 0,
    limit: int | None = None,
    oldest_first: bool = False,
) -> tuple[list[tuple[InvoiceAdjustment, Invoice, str]], int]:
    """Documents newest first (or oldest first), with their invoice and account id, and how many
    match."""
    conditions = [InvoiceAdjustment.store_id == store_id]
    if kind is not None:
        conditions.append(InvoiceAdjustment.kind == kind.name)
    if account_id is not None:
        conditions.append(InvoiceAdjustment.account_id == account_id)
    if invoice_pk is not None:
        conditions.append(InvoiceAdjustment.invoice_id == invoice_pk)
    total = session.scalar(select(func.count()).select_from(InvoiceAdjustment).where(*conditions)) or 0
    query = (
        select(InvoiceAdjustment, Invoice, Account.public_id)
        .join(Invoice, Invoice.id == InvoiceAdjustment.invoice_id)
        .join(Account, Account.id == InvoiceAdjustment.account_id)
        .where(*conditions)
        .order_by(
            *(
                (InvoiceAdjustment.id,)
                if oldest_first
                else (InvoiceAdjustment.created_at.desc(), InvoiceAdjustment.id.desc())
            )
        )
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return [(row[0], row[1], row[2]) for row in session.execute(query)], total
