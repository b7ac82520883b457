"""Invoices: retrieve, change, cancel, pay (also partly), reverse a payment, postpone.

State changes follow one table (see `_TRANSITIONS`): asking for the state an invoice is already
in changes nothing; anything the table does not allow is a 409 that says why."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from customer_credit import events
from customer_credit.accounts.models import Account
from customer_credit.auth.principal import Principal
from customer_credit.dates import timestamp
from customer_credit.db.base import utcnow
from customer_credit.errors import Conflict, NotFound, field_error
from customer_credit.i18n import N_
from customer_credit.invoices import payments
from customer_credit.invoices.ids import transaction_public_id_of
from customer_credit.invoices.models import CANCELLED, OPENED, PAID, STATUSES, Invoice
from customer_credit.ledger import service as ledger
from customer_credit.ledger.models import INVOICE, PAYMENT
from customer_credit.money import from_cents, to_cents
from customer_credit.stores import service as stores
from customer_credit.transactions import returns
from customer_credit.validation import clean_http_url, clean_text

MAX_OBSERVATION = 1000
UNSET = object()


# Built once, with bound parameters: building a statement costs more CPU than running it
# (docs/performance.md, Hot paths).
_WITH_OWNER = (
    select(Invoice, Account.public_id)
    .join(Account, Account.id == Invoice.account_id)
    .where(Invoice.store_id == bindparam("store_id"), Invoice.public_id == bindparam("invoice_id"))
)
# The account of the invoice (its account_id never changes), locked; then the invoice, locked.
# populate_existing: a row this session loaded earlier is reloaded with the locked row's figures.
_LOCK_OWNER = (
    select(Account)
    .where(
        Account.id
        == select(Invoice.account_id)
        .where(Invoice.store_id == bindparam("store_id"), Invoice.public_id == bindparam("invoice_id"))
        .scalar_subquery(),
        Account.public_id == bindparam("account_public_id"),
    )
    .with_for_update()
    .execution_options(populate_existing=True)
)
_LOCK_INVOICE = (
    select(Invoice)
    .where(Invoice.store_id == bindparam("store_id"), Invoice.public_id == bindparam("invoice_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


def _not_found(account_public_id: str, invoice_id: str) -> NotFound:
    return NotFound(f"no invoice {invoice_id} on account {account_public_id}", code="InvoiceNotFound")


def _find(session: Session, principal: Principal, account_public_id: str, invoice_id: str):
    row = session.execute(_WITH_OWNER, {"store_id": principal.store_id, "invoice_id": invoice_id}).first()
    if row is None or row[1] != account_public_id:
        raise _not_found(account_public_id, invoice_id)
    return row[0]


def get_invoice(session: Session, principal: Principal, account_public_id: str, invoice_id: str) -> Invoice:
    return _find(session, principal, account_public_id, invoice_id)


def lock_invoice(
    session: Session, principal: Principal, account_public_id: str, invoice_id: str
) -> tuple[Account, Invoice]:
    """Locks the account, then the invoice (always in this order, so changes never deadlock):
    two statements, each row read once."""
    names = {"store_id": principal.store_id, "invoice_id": invoice_id}
    account = session.scalar(_LOCK_OWNER, {**names, "account_public_id": account_public_id})
    if account is None:
        raise _not_found(account_public_id, invoice_id)
    invoice = session.scalar(_LOCK_INVOICE, names)
    if invoice is None:
        raise _not_found(account_public_id, invoice_id)
    return account, invoice


def _entry_meta(session: Session, invoice: Invoice, **extra) -> dict:
    return {
        "transactionId": transaction_public_id_of(invoice.public_id),
        "installment": invoice.installment,
        **extra,
    }


@dataclass(frozen=True)
class Receipt:
    """How a payment reached the service: the day the money arrived (today when None), the
    payer's reference, and the path that recorded it (payments.API, CONSOLE, ...)."""

    paid_on: date | None = None
    reference: str | None = None
    method: str | None = None


def _pay(session, principal, account, invoice, amount_cents: int, now: datetime, receipt: Receipt) -> None:
    payments.record(
        session,
        principal,
        account,
        invoice,
        amount_cents,
        now,
        paid_on=receipt.paid_on,
        reference=receipt.reference,
        method=receipt.method,
    )
    invoice.paid_cents += amount_cents
    if invoice.paid_cents == invoice.value_cents:
        invoice.status = PAID
        invoice.resolved_at = now
    invoice.updated_at = now
    ledger.append_entry(
        session,
        account,
        origin=PAYMENT,
        value_cents=amount_cents,
        done_by=principal.name,
        meta=_entry_meta(session, invoice),
        at=now,
    )
    account.updated_at = now
    events.record(
        session,
        events.INVOICE_PAID if invoice.status == PAID else events.INVOICE_CHANGED,
        account=account,
        invoice=invoice,
        changes={"payment": {"value": from_cents(amount_cents)}},
        at=now,
    )


def _cancel(session, principal, account, invoice, now: datetime) -> None:
    owed = invoice.value_cents - invoice.paid_cents
    invoice.status = CANCELLED
    invoice.resolved_at = now
    invoice.updated_at = now
    ledger.append_entry(
        session,
        account,
        origin=INVOICE,
        value_cents=owed,
        done_by=principal.name,
        meta=_entry_meta(session, invoice, cancelled=True),
        at=now,
    )
    account.updated_at = now
    events.record(session, events.INVOICE_CANCELLED, account=account, invoice=invoice, at=now)


def _reverse_payment(session, principal, account, invoice, now: datetime, receipt: Receipt) -> None:
    from customer_credit.credit_control import balance  # it builds on this module

    paid = invoice.paid_cents
    returns.refuse_reversal_of_returned_payment(session, invoice.transaction_id, paid)
    if paid:
        payments.record(session, principal, account, invoice, -paid, now, method=receipt.method)
    balance.restore_on_reversal(session, principal, account, invoice, now)
    invoice.paid_cents = 0
    invoice.status = OPENED
    invoice.resolved_at = None
    invoice.updated_at = now
    ledger.append_entry(
        session,
        account,
        origin=PAYMENT,
        value_cents=-paid,
        done_by=principal.name,
        meta=_entry_meta(session, invoice, reversal=True),
        at=now,
    )
    account.updated_at = now
    events.record(
        session,
        events.INVOICE_CHANGED,
        account=account,
        invoice=invoice,
        changes={"paymentReversed": {"value": from_cents(paid)}},
        at=now,
    )


def _refuse(invoice: Invoice, target: str) -> Conflict:
    if invoice.status == PAID and target == CANCELLED:
        return Conflict(N_("a paid invoice can no longer be cancelled"), code="InvoiceAlreadyPaid")
    if invoice.status == CANCELLED:
        return Conflict(N_("a cancelled invoice cannot change status"), code="InvoiceCancelled")
    return Conflict(f"an invoice cannot go from {invoice.status} to {target}", code="InvalidTransition")


def _transition(
    session, principal, account, invoice, target: str, now: datetime, receipt: Receipt = Receipt()
) -> None:
    if target == invoice.status:
        return
    if invoice.status == OPENED and target == PAID:
        _pay(session, principal, account, invoice, invoice.value_cents - invoice.paid_cents, now, receipt)
    elif invoice.status == OPENED and target == CANCELLED:
        _cancel(session, principal, account, invoice, now)
    elif invoice.status == PAID and target == OPENED:
        _reverse_payment(session, principal, account, invoice, now, receipt)
    else:
        raise _refuse(invoice, target)


def change_invoice(
    session: Session,
    principal: Principal,
    account_public_id: str,
    invoice_id: str,
    *,
    status: str,
    observation=UNSET,
    payment_link=UNSET,
    method: str | None = None,
    now: datetime | None = None,
) -> Invoice:
    """Sets status; observation and paymentLink are set when given, cleared when None, kept
    when UNSET. `method` names the path a payment or reversal it makes is recorded as; `now`
    is the request's clock (the wall clock when not given)."""
    if status not in STATUSES:
        raise field_error("status", f"must be one of {', '.join(STATUSES)}")
    if observation is not UNSET and observation is not None:
        observation = clean_text("observation", observation, max_length=MAX_OBSERVATION)
    if payment_link is not UNSET and payment_link is not None:
        payment_link = clean_http_url("paymentLink", payment_link)
    account, invoice = lock_invoice(session, principal, account_public_id, invoice_id)
    now = now or utcnow()
    _transition(session, principal, account, invoice, status, now, Receipt(method=method))
    if observation is not UNSET and observation != invoice.observation:
        invoice.observation = observation
        invoice.updated_at = now
    if payment_link is not UNSET and payment_link != invoice.payment_link:
        invoice.payment_link = payment_link
        invoice.updated_at = now
    events.record_if_changed(session, invoice, ("observation", "payment_link"), account=account, at=now)
    return invoice


def cancel_invoice(
    session: Session,
    principal: Principal,
    account_public_id: str,
    invoice_id: str,
    *,
    now: datetime | None = None,
) -> Invoice:
    """Cancels an open invoice at `now` (the request's clock; the wall clock when not given)."""
    account, invoice = lock_invoice(session, principal, account_public_id, invoice_id)
    _transition(session, principal, account, invoice, CANCELLED, now or utcnow())
    return invoice


def pay_invoice(
    session: Session,
    principal: Principal,
    account_public_id: str,
    invoice_id: str,
    *,
    value: Decimal | None = None,
    now: datetime | None = None,
    paid_on: date | None = None,
    reference: str | None = None,
    method: str | None = None,
) -> Invoice:
    """Pays what is still owed, or `value` of it (a partial payment), at `now` (the request's
    clock; the wall clock when not given). The money was received on `paid_on` (today in the
    store's calendar when not given), under the payer's `reference`; `method` names the path
    that records it (see invoices.payments)."""
    amount = None
    if value is not None:
        amount = to_cents(value)
        if amount <= 0:
            raise field_error("value", "must be greater than 0")
    reference = payments.clean_reference(reference)
    account, invoice = lock_invoice(session, principal, account_public_id, invoice_id)
    now = now or utcnow()
    if paid_on is not None:
        config = stores.get_config(session, principal.store_id)
        paid_on = payments.clean_paid_on(paid_on, invoice, config, now)
    receipt = Receipt(paid_on=paid_on, reference=reference, method=method)
    if amount is None:
        _transition(session, principal, account, invoice, PAID, now, receipt)
        return invoice
    if invoice.status != OPENED:
        raise (
            _refuse(invoice, PAID)
            if invoice.status == CANCELLED
            else Conflict("the invoice is already paid", code="InvoiceAlreadyPaid")
        )
    owed = invoice.value_cents - invoice.paid_cents
    if amount > owed:
        raise Conflict(
            f"the payment exceeds what is owed on the invoice ({Decimal(owed) / 100})",
            code="PaymentExceedsOwed",
        )
    _pay(session, principal, account, invoice, amount, now, receipt)
    return invoice


def _postponed_too_long(config) -> Conflict:
    return Conflict(
        f"the due date may end at most {config.max_postponement_days} days after the original one",
        code="PostponementTooLong",
    )


def postponement_refusal(config, invoice: Invoice) -> Conflict | None:
    """Why the invoice cannot be postponed by any number of days now, or None: the rules
    `postpone_invoice` enforces first, which the console shows beside its disabled button."""
    if not config.postponement_enabled or config.invoice_postponement_limit <= 0:
        return Conflict(N_("this store does not allow postponements"), code="PostponementDisabled")
    if invoice.status != OPENED:
        return Conflict(N_("only an Opened invoice can be postponed"), code="InvoiceNotOpened")
    if invoice.postponement_count >= config.invoice_postponement_limit:
        return Conflict(
            f"the invoice was already postponed {invoice.postponement_count} times, the store's limit",
            code="PostponementLimitReached",
        )
    if invoice.due_at - invoice.original_due_at >= timedelta(days=config.max_postponement_days):
        return _postponed_too_long(config)
    return None


def cancel_refusal(invoice: Invoice) -> Conflict | None:
    """Why the invoice cannot be cancelled now, or None (only an open invoice can be)."""
    return None if invoice.status == OPENED else _refuse(invoice, CANCELLED)


def postpone_invoice(
    session: Session,
    principal: Principal,
    account_public_id: str,
    invoice_id: str,
    *,
    due_days: int,
) -> Invoice:
    if due_days < 1:
        raise field_error("dueDays", "must be 1 or more whole days")
    config = stores.get_config(session, principal.store_id)
    _account, invoice = lock_invoice(session, principal, account_public_id, invoice_id)
    refusal = postponement_refusal(config, invoice)
    if refusal is not None:
        raise refusal
    too_long = _postponed_too_long(config)
    # dueDate only ever moves forward, so dueDays alone may already exceed the limit; checking
    # it first also keeps a huge dueDays from overflowing the date arithmetic below.
    if due_days > config.max_postponement_days:
        raise too_long
    try:
        new_due = invoice.due_at + timedelta(days=due_days)
    except OverflowError:
        raise too_long from None
    if new_due - invoice.original_due_at > timedelta(days=config.max_postponement_days):
        raise too_long
    previous_due = invoice.due_at
    invoice.due_at = new_due
    invoice.postponement_count += 1
    invoice.updated_at = utcnow()
    events.record(
        session,
        events.INVOICE_POSTPONED,
        account=_account,
        invoice=invoice,
        changes={"dueDate": {"from": timestamp(previous_due), "to": timestamp(new_due)}, "dueDays": due_days},
    )
    return invoice
