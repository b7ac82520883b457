"""Issuing invoices for a settlement, and lowering open ones (re-settlement, refunds)."""

import secrets
import string
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from customer_credit import events
from customer_credit.invoices.ids import invoice_public_id
from customer_credit.invoices.models import CANCELLED, OPENED, PAID, Invoice
from customer_credit.money import from_cents, split_cents
from customer_credit.payment_conditions.service import DEFAULT_SCHEDULE, Schedule
from customer_credit.transactions.models import Transaction

# The built-in rule's step (demo data dates its invoices by it).
DAYS_BETWEEN_INSTALLMENTS = DEFAULT_SCHEDULE.every_days
_FRIENDLY_ALPHABET = string.ascii_letters + string.digits


def new_friendly_prefix() -> str:
    return "".join(secrets.choice(_FRIENDLY_ALPHABET) for _ in range(8))


def invoice_parts(total_cents: int, installments: int) -> list[int]:
    """The values of the invoices a settlement of `total_cents` in `installments` issues.
    When the value has fewer cents than installments, the trailing parts are 0: they would be
    Opened invoices owing nothing (and would keep the account from closing). Only parts that
    carry money become invoices."""
    return [cents for cents in split_cents(total_cents, installments) if cents > 0]


def invoice_count(total_cents: int, installments: int) -> int:
    """How many invoices `issue` makes: the settlement entry's numberOfInstallments."""
    return len(invoice_parts(total_cents, installments))


def plan_interest_cents(total_cents: int, installments: int, schedule: Schedule) -> int:
    """The interest the invoices `issue` would make for this plan add up to (the settlement's
    ledger entry takes it with the value, before the invoices exist)."""
    return sum(
        schedule.interest_cents(cents, offset)
        for offset, cents in enumerate(invoice_parts(total_cents, installments), start=1)
    )


def issue(
    session: Session,
    transaction: Transaction,
    *,
    total_cents: int,
    installments: int,
    at: datetime,
    schedule: Schedule = DEFAULT_SCHEDULE,
) -> list[Invoice]:
    """Splits `total_cents` into `installments` invoices numbered after the existing ones.
    The k-th new one is due `schedule.due_offset_days(k)` days after `at` and is worth its part
    plus `schedule.interest_cents(part, k)`. k counts this call's invoices (1..n), also when a
    re-settlement numbers them after earlier ones: they are a new plan that starts at `at`."""
    if transaction.friendly_prefix is None:
        transaction.friendly_prefix = new_friendly_prefix()
    already = session.execute(
        select(func.coalesce(func.max(Invoice.installment), 0)).where(
            Invoice.transaction_id == transaction.id
        )
    ).scalar_one()
    parts = invoice_parts(total_cents, installments)
    invoices = []
    for offset, cents in enumerate(parts, start=1):
        number = already + offset
        due = at + timedelta(days=schedule.due_offset_days(offset))
        invoices.append(
            Invoice(
                store_id=transaction.store_id,
                account_id=transaction.account_id,
                transaction_id=transaction.id,
                public_id=invoice_public_id(transaction.public_id, number),
                friendly_id=f"{transaction.friendly_prefix}-{number}",
                installment=number,
                number_of_installments=len(parts),
                order_id=transaction.order_id or "",
                payment_id=transaction.payment_id,
                order_reference=transaction.order_reference,
                value_cents=cents + schedule.interest_cents(cents, offset),
                paid_cents=0,
                status=OPENED,
                due_at=due,
                original_due_at=due,
                created_at=at,
                updated_at=at,
            )
        )
    session.add_all(invoices)
    for invoice in invoices:
        events.record_for_invoice(session, events.INVOICE_CREATED, invoice)
    return invoices


def resolve_if_nothing_owed(invoice: Invoice, at: datetime) -> None:
    """An Opened invoice whose value came down to what was paid on it owes nothing: Paid when
    something was paid, else Cancelled (it was never paid and never will be)."""
    if invoice.status == OPENED and invoice.value_cents == invoice.paid_cents:
        invoice.status = PAID if invoice.paid_cents > 0 else CANCELLED
        invoice.resolved_at = at


def lower_open_invoices(
    session: Session, transaction: Transaction, amount_cents: int, *, at: datetime
) -> int:
    """Takes `amount_cents` off the transaction's open invoices, last installment first.
    An invoice left with nothing owed becomes Paid (if partly paid) or Cancelled.
    Returns what could not be taken because nothing more was open."""
    open_invoices = session.scalars(
        select(Invoice)
        .where(Invoice.transaction_id == transaction.id, Invoice.status == OPENED)
        .order_by(Invoice.installment.desc())
        .with_for_update()
    )
    remaining = amount_cents
    for invoice in open_invoices:
        if remaining == 0:
            break
        owed = invoice.value_cents - invoice.paid_cents
        taken = min(owed, remaining)
        invoice.value_cents -= taken
        remaining -= taken
        invoice.updated_at = at
        resolve_if_nothing_owed(invoice, at)
        events.record_for_invoice(
            session,
            {PAID: events.INVOICE_PAID, CANCELLED: events.INVOICE_CANCELLED}.get(
                invoice.status, events.INVOICE_CHANGED
            ),
            invoice,
            changes={
                "value": {
                    "from": from_cents(invoice.value_cents + taken),
                    "to": from_cents(invoice.value_cents),
                }
            },
        )
    return remaining


def open_amount_cents(session: Session, transaction: Transaction) -> int:
    return session.execute(
        select(func.coalesce(func.sum(Invoice.value_cents - Invoice.paid_cents), 0)).where(
            Invoice.transaction_id == transaction.id, Invoice.status == OPENED
        )
    ).scalar_one()
