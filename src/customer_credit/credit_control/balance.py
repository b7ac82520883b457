"""Applying an account's unapplied credit to one of its Opened invoices (docs/credit-control.md).

An overpayment, a refund of money already paid, or a manual credit leaves the account with
more balance than its open invoices account for. What can be applied is

    unapplied = balance + what is still owed on the account's Opened invoices

(0 or less: nothing to apply; a manual debit eats it first, since it is a debt too). Applying
X pays X of the chosen invoice from it: a Payment entry of +X on the invoice and a Statement
entry of −X that consumes the credit, so the balance, and with it the available credit, stay
as they were, and unapplied goes down by X. Both entries name the application in their
metadata (`balanceApplication`), which `check` sums against the invoices' `balance_applied_cents`.

Reversing such a payment (PUT status Opened on the Paid invoice) gives the applied part back
with a Statement entry of +X (invoices.service)."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from customer_credit import events
from customer_credit.accounts.models import Account
from customer_credit.auth.principal import Principal
from customer_credit.credit_control.adjustments import add_once, clean_reference, positive_cents, replay_of
from customer_credit.credit_control.models import BalanceApplication
from customer_credit.dates import timestamp
from customer_credit.errors import Conflict
from customer_credit.invoices import payments
from customer_credit.invoices import service as invoices
from customer_credit.invoices.ids import transaction_public_id_of
from customer_credit.invoices.models import CANCELLED, OPENED, PAID, Invoice
from customer_credit.ledger import service as ledger
from customer_credit.ledger.models import PAYMENT, STATEMENT
from customer_credit.money import from_cents


def open_owed_cents(session: Session, account: Account) -> int:
    # int(): PostgreSQL sums bigints as numeric.
    return int(
        session.scalars(
            select(func.coalesce(func.sum(Invoice.value_cents - Invoice.paid_cents), 0)).where(
                Invoice.account_id == account.id, Invoice.status == OPENED
            )
        ).one()
    )


def unapplied_cents(session: Session, account: Account) -> int:
    """Credit the account holds beyond its open invoices (may be 0 or negative). Exact only
    while the caller holds the account row lock."""
    return account.balance_cents + open_owed_cents(session, account)


def _refuse_unless_payable(invoice: Invoice, cents: int) -> None:
    if invoice.status == CANCELLED:
        raise Conflict("a cancelled invoice cannot be paid", code="InvoiceCancelled")
    if invoice.status == PAID:
        raise Conflict("the invoice is already paid", code="InvoiceAlreadyPaid")
    owed = invoice.value_cents - invoice.paid_cents
    if cents > owed:
        raise Conflict(
            f"the amount ({from_cents(cents)}) exceeds what is owed on the invoice ({from_cents(owed)})",
            code="PaymentExceedsOwed",
        )


def apply_balance(
    session: Session,
    principal: Principal,
    account_public_id: str,
    invoice_id: str,
    *,
    value: Decimal,
    reference: str | None = None,
    now: datetime,
) -> tuple[BalanceApplication, bool]:
    """Pays `value` of the invoice from the account's unapplied credit. Returns the application
    and whether it is new (False: the same reference was sent again)."""
    cents = positive_cents("value", value)
    reference = clean_reference(reference)
    account, invoice = invoices.lock_invoice(session, principal, account_public_id, invoice_id)
    if reference is not None:
        existing = replay_of(
            session,
            select(BalanceApplication).where(
                BalanceApplication.store_id == principal.store_id, BalanceApplication.reference == reference
            ),
            invoice,
            cents,
            taken_by=lambda _application: "another application of balance",
            code="ApplicationReferenceReused",
        )
        if existing is not None:
            return existing, False
    _refuse_unless_payable(invoice, cents)
    available = unapplied_cents(session, account)
    if cents > available:
        owed = open_owed_cents(session, account)
        raise Conflict(
            f"the account has {from_cents(max(available, 0))} of balance to apply (balance "
            f"{from_cents(account.balance_cents)}, {from_cents(owed)} owed on open invoices); "
            f"it cannot apply {from_cents(cents)}",
            code="InsufficientBalance",
        )
    application = BalanceApplication(
        store_id=principal.store_id,
        account_id=account.id,
        invoice_id=invoice.id,
        amount_cents=cents,
        reference=reference,
        applied_by=principal.name[:254],
        created_at=now,
    )
    add_once(session, application, "another application", code="ApplicationReferenceReused")
    _pay_from_balance(session, principal, account, invoice, application, now)
    return application, True


def _pay_from_balance(
    session, principal, account: Account, invoice: Invoice, application, now: datetime
) -> None:
    cents = application.amount_cents
    payments.record(
        session,
        principal,
        account,
        invoice,
        cents,
        now,
        reference=application.reference,
        method=payments.BALANCE,
    )
    invoice.paid_cents += cents
    invoice.balance_applied_cents += cents
    if invoice.paid_cents == invoice.value_cents:
        invoice.status = PAID
        invoice.resolved_at = now
    invoice.updated_at = now
    meta = {
        "transactionId": transaction_public_id_of(invoice.public_id),
        "installment": invoice.installment,
        "balanceApplication": application.id,
    }
    ledger.append_entry(
        session, account, origin=PAYMENT, value_cents=cents, done_by=principal.name, meta=meta, at=now
    )
    ledger.append_entry(
        session,
        account,
        origin=STATEMENT,
        value_cents=-cents,
        done_by=principal.name,
        meta={**meta, "invoiceId": invoice.public_id},
        at=now,
    )
    account.updated_at = now
    changes = {"balanceApplication": application_wire(application, invoice, account.public_id)}
    events.record(
        session, events.INVOICE_BALANCE_APPLIED, account=account, invoice=invoice, changes=changes, at=now
    )
    if invoice.status == PAID:
        events.record(session, events.INVOICE_PAID, account=account, invoice=invoice, changes=changes, at=now)


def restore_on_reversal(
    session: Session, principal: Principal, account: Account, invoice: Invoice, now: datetime
):
    """A payment reversal reopens the invoice: the part paid from the balance goes back to it."""
    applied = invoice.balance_applied_cents
    if not applied:
        return
    invoice.balance_applied_cents = 0
    ledger.append_entry(
        session,
        account,
        origin=STATEMENT,
        value_cents=applied,
        done_by=principal.name,
        meta={
            "transactionId": transaction_public_id_of(invoice.public_id),
            "installment": invoice.installment,
            "invoiceId": invoice.public_id,
            "balanceApplication": "reversed",
        },
        at=now,
    )


def application_wire(application: BalanceApplication, invoice: Invoice, account_public_id: str) -> dict:
    return {
        "id": application.id,
        "value": from_cents(application.amount_cents),
        "reference": application.reference,
        "invoiceId": invoice.public_id,
        "friendlyId": invoice.friendly_id,
        "creditAccountId": account_public_id,
        "appliedBy": application.applied_by,
        "createdAt": timestamp(application.created_at),
    }


def balance_wire(session: Session, account: Account) -> dict:
    owed = open_owed_cents(session, account)
    return {
        "creditAccountId": account.public_id,
        "balance": from_cents(account.balance_cents),
        "openInvoicesOwed": from_cents(owed),
        "unappliedBalance": from_cents(max(account.balance_cents + owed, 0)),
    }
