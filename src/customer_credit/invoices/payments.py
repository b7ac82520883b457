"""The payments of an invoice, one row each: when the money was received, how, by whom, and the
late interest that was due on the invoice that day (paying erases it from the figures).

A reversal is a row of its own with a negative amount, never an edit of the payment it undoes:
the table is append-only, so the timeline shows what happened in the order it happened, and the
amounts of an invoice's rows always add up to its `paid_cents` (payments made before migration
0016 excepted; they have no row)."""

from datetime import date, datetime, time

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from customer_credit.accounts.models import Account
from customer_credit.auth.principal import Principal
from customer_credit.dates import store_zone
from customer_credit.db.base import Base, UtcDateTime, utcnow
from customer_credit.errors import field_error
from customer_credit.invoices.models import Invoice
from customer_credit.invoices.overdue_days import Lateness
from customer_credit.stores import service as stores
from customer_credit.validation import clean_text

# Where a payment was recorded (`method`).
API = "api"
CONSOLE = "console"
BALANCE = "balance"
MAX_REFERENCE = 200
MAX_RECORDED_BY = 254


class InvoicePayment(Base):
    __tablename__ = "invoice_payments"
    __table_args__ = (
        CheckConstraint("amount_cents <> 0", name="amount"),
        CheckConstraint("interest_due_cents >= 0", name="interest_due"),
        Index("ix_invoice_payments_invoice_recorded", "invoice_id", "recorded_at"),
        # My Credits: an account's latest payments received.
        Index("ix_invoice_payments_account_paid_on", "account_id", "paid_on", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    # Negative: a reversal.
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    # The day the money was received, in the store's calendar (may be before recorded_at's).
    paid_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    reference: Mapped[str | None] = mapped_column(String(MAX_REFERENCE), nullable=True)
    method: Mapped[str | None] = mapped_column(String(20), nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(MAX_RECORDED_BY))
    interest_due_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


def clean_reference(reference: str | None) -> str | None:
    if reference is None:
        return None
    cleaned = clean_text("reference", reference.strip(), max_length=MAX_REFERENCE, allow_newlines=False)
    return cleaned or None


def store_today(config, now: datetime) -> date:
    return now.astimezone(store_zone(config)).date()


def clean_paid_on(paid_on: date | None, invoice: Invoice, config, now: datetime) -> date:
    """The day the money was received: today in the store's calendar when not given; never
    after today, nor before the day the invoice was created."""
    today = store_today(config, now)
    if paid_on is None:
        return today
    if paid_on > today:
        raise field_error("paidOn", f"must not be after today ({today.isoformat()})")
    created = invoice.created_at.astimezone(store_zone(config)).date()
    if paid_on < created:
        raise field_error("paidOn", f"must not be before the invoice was created ({created.isoformat()})")
    return paid_on


def _interest_due_cents(config, invoice: Invoice, paid_on: date, now: datetime) -> int:
    """Late interest on what the invoice still owes, reckoned on the day the money was received
    (days overdue depend on the calendar day alone, so any moment of that day will do)."""
    today = store_today(config, now)
    moment = now if paid_on == today else datetime.combine(paid_on, time(12), tzinfo=store_zone(config))
    return Lateness.of_store(config, moment).of(invoice).interest_cents


def record(
    session: Session,
    principal: Principal,
    account: Account,
    invoice: Invoice,
    amount_cents: int,
    now: datetime,
    *,
    paid_on: date | None = None,
    reference: str | None = None,
    method: str | None = None,
) -> InvoicePayment:
    """Records a payment (or, negative, a reversal) of the locked `invoice`, before the caller
    changes its figures: the interest due is read from what the invoice owed until now.
    `paid_on` and `reference` are the caller's, already cleaned."""
    config = stores.get_config(session, principal.store_id)
    day = paid_on or store_today(config, now)
    payment = InvoicePayment(
        store_id=invoice.store_id,
        account_id=account.id,
        invoice_id=invoice.id,
        amount_cents=amount_cents,
        paid_on=day,
        recorded_at=now,
        reference=reference,
        method=method,
        recorded_by=principal.name[:MAX_RECORDED_BY],
        interest_due_cents=_interest_due_cents(config, invoice, day, now) if amount_cents > 0 else 0,
    )
    session.add(payment)
    return payment


def payments_of(session: Session, invoice: Invoice) -> list[InvoicePayment]:
    """The invoice's timeline, oldest first."""
    return list(
        session.scalars(
            select(InvoicePayment)
            .where(InvoicePayment.store_id == invoice.store_id, InvoicePayment.invoice_id == invoice.id)
            .order_by(InvoicePayment.recorded_at, InvoicePayment.id)
        )
    )
