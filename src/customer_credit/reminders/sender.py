"""Sending claimed reminders: take a batch in one transaction (rendering each message from the
invoice as it is then), send outside any transaction, record each outcome in another. The
invoice's PDF, when the store attaches it, is read in the claim with the same clock as the body
and rendered after that transaction, just before its message is sent.

At most once, and nothing lost when a worker dies: a claimed batch is leased, and each message
is marked as started (next_attempt_at cleared, a lease of its own) in a short transaction just
before it is sent. When a lease ends without an outcome, a started reminder is marked
`abandoned` (it may have gone out: never sent twice); the ones of the batch that never started
go back to pending for any worker. A send the server refused (or that could not connect) is
retried with exponential backoff."""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import CursorResult, and_, select, update
from sqlalchemy.orm import Session

from customer_credit.accounts.models import OPEN, Account, Holder
from customer_credit.credit_control import dunning
from customer_credit.db.engine import Database
from customer_credit.documents import service as documents
from customer_credit.invoices.models import OPENED, Invoice
from customer_credit.invoices.overdue_days import Lateness, days_until_due
from customer_credit.reminders import mail
from customer_credit.reminders.models import (
    ABANDONED,
    AFTER,
    FAILED,
    OBSOLETE,
    PENDING,
    PRIOR,
    SENDING,
    SENT,
    Reminder,
    ReminderTemplate,
)
from customer_credit.reminders.schedule import presentation_of, schedule_due
from customer_credit.reminders.templates import (
    Facts,
    Message,
    TemplateSet,
    context,
    default_templates,
    render,
)
from customer_credit.settings import Settings
from customer_credit.stores.models import Store
from customer_credit.stores.service import get_config

log = logging.getLogger("customer_credit.reminders")
SEND_BATCH = 20


@dataclass(frozen=True)
class Outgoing:
    reminder_id: int
    attempt: int
    email: EmailMessage
    filename_stem: str
    # The invoice's PDF as read in the claim; rendered outside any transaction (with_attachment).
    attachment: documents.Download | None = None


def templates_for(
    session: Session, store_id: int, kind: str, days: int | None = None, locale: str | None = None
) -> TemplateSet:
    """A dunning level's own e-mail for its step after the due date, else the store's template
    of the kind, else the default."""
    if kind == AFTER and days is not None:
        level = dunning.level_for(session, store_id, days)
        if level is not None and level.subject is not None and level.text_body is not None:
            return TemplateSet(level.subject, level.text_body, level.html_body)
    own = session.get(ReminderTemplate, (store_id, kind))
    if own is None:
        return default_templates(kind, locale)
    return TemplateSet(own.subject, own.text_body, own.html_body)


def recipients_of(session: Session, account: Account) -> tuple[list[str], list[str]]:
    holders = session.scalars(
        select(Holder.email)
        .where(Holder.account_id == account.id, Holder.removed_at.is_(None))
        .order_by(Holder.id)
    ).all()
    return [account.email], [email for email in holders if email != account.email]


def compose(
    session: Session, reminder: Reminder, invoice: Invoice, account: Account, now: datetime
) -> Message:
    config = get_config(session, invoice.store_id)
    look = presentation_of(config)
    lateness = Lateness.of_store(config, now)
    late = lateness.of(invoice)
    facts = Facts(
        # The name customers know the store by; the internal store name until one is set.
        store_name=config.display_name or session.get_one(Store, invoice.store_id).name,
        customer_email=account.email,
        invoice_id=invoice.public_id,
        friendly_id=invoice.friendly_id,
        installment=invoice.installment,
        installments=invoice.number_of_installments,
        value_cents=invoice.value_cents,
        paid_cents=invoice.paid_cents,
        interest_cents=late.interest_cents,
        due_at=invoice.due_at,
        original_due_at=invoice.original_due_at,
        days_until_due=days_until_due(invoice.due_at, now, lateness.zone),
        days_overdue=late.days,
        payment_link=invoice.payment_link,
        payment_instructions=getattr(config, "payment_instructions", None),
        trigger_days=reminder.days,
        **_dunning_facts(session, reminder, invoice),
    )
    templates = templates_for(session, invoice.store_id, reminder.kind, reminder.days, look.locale)
    return render(templates, context(facts, look), fallback=default_templates(reminder.kind, look.locale))


def _dunning_facts(session: Session, reminder: Reminder, invoice: Invoice) -> dict:
    if reminder.kind != AFTER:
        return {}
    level = dunning.level_for(session, invoice.store_id, reminder.days)
    if level is None:
        return {}
    return {
        "dunning_level": level.name,
        "late_fee_cents": dunning.fee_charged_cents(session, invoice, reminder.days),
    }


def _why_obsolete(reminder: Reminder, invoice: Invoice, account: Account, now: datetime) -> str | None:
    if invoice.status != OPENED:
        return f"the invoice is {invoice.status}"
    if invoice.due_at != reminder.due_at:
        return "the invoice was postponed"
    if account.status != OPEN:
        return "the account is closed"
    if reminder.kind == PRIOR and now >= invoice.due_at:
        return "the due date passed before the reminder could be sent"
    return None


def claim(
    db: Database, now: datetime, settings: Settings, *, limit: int = SEND_BATCH
) -> tuple[list[Outgoing], int]:
    """Returns the messages to send and the number of reminders handled (obsolete included)."""
    lease = send_lease(settings)
    outgoing = []
    with db.write() as session:
        lapsed = and_(Reminder.status == SENDING, Reminder.lease_until <= now)
        # Claimed, never started (its worker died, or was too slow, before their turn).
        session.execute(
            update(Reminder)
            .where(lapsed, Reminder.next_attempt_at.is_not(None))
            .values(status=PENDING, lease_until=None, updated_at=now)
        )
        session.execute(
            update(Reminder)
            .where(lapsed)
            .values(
                status=ABANDONED,
                lease_until=None,
                updated_at=now,
                last_error="the worker stopped while sending; not sent again (at most once)",
            )
        )
        reminders = session.scalars(
            select(Reminder)
            .where(Reminder.status == PENDING, Reminder.next_attempt_at <= now)
            .order_by(Reminder.next_attempt_at, Reminder.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for reminder in reminders:
            # Foreign keys guarantee both rows; get_one fails loudly rather than hand back None.
            invoice = session.get_one(Invoice, reminder.invoice_id)
            account = session.get_one(Account, reminder.account_id)
            reason = _why_obsolete(reminder, invoice, account, now)
            reminder.updated_at = now
            if reason:
                reminder.status, reminder.last_error, reminder.next_attempt_at = OBSOLETE, reason, None
                continue
            message = compose(session, reminder, invoice, account, now)
            to, cc = recipients_of(session, account)
            reminder.status = SENDING
            reminder.attempts += 1
            reminder.lease_until = now + lease
            reminder.recipients = to + cc
            reminder.subject = message.subject[:500]
            email = mail.build(
                settings, message, to=to, cc=cc, message_key=f"reminder-{reminder.id}.{invoice.public_id}"
            )
            stem = (
                f"{reminder.scheduled_at:%Y%m%dT%H%M%SZ}-{invoice.friendly_id}-{reminder.kind}{reminder.days}"
            )
            attachment = documents.reminder_attachment(session, invoice, account, now=now)
            outgoing.append(Outgoing(reminder.id, reminder.attempts, email, stem, attachment))
        handled = len(reminders)
    return outgoing, handled


def send_lease(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.smtp_timeout_s * 3 + 60)


def start_sending(db: Database, item: Outgoing, moment: datetime, settings: Settings) -> bool:
    """Marks the reminder's attempt as started, leased for this one message. False when the
    claim is no longer this worker's (its lease ran out and the reminder went back to pending,
    or another worker claimed it since): then it must not be sent from here."""
    with db.write() as session:
        result = session.execute(
            update(Reminder)
            .where(
                Reminder.id == item.reminder_id,
                Reminder.status == SENDING,
                Reminder.attempts == item.attempt,
                Reminder.next_attempt_at.is_not(None),
            )
            .values(next_attempt_at=None, lease_until=moment + send_lease(settings), updated_at=moment)
        )
        if not isinstance(result, CursorResult):
            raise TypeError("an UPDATE returns a CursorResult")
        return result.rowcount == 1


def with_attachment(item: Outgoing) -> EmailMessage:
    """The message with the invoice's PDF attached, if it has one; renders it (no database)."""
    if item.attachment is not None:
        item.email.add_attachment(
            item.attachment.render(),
            maintype="application",
            subtype="pdf",
            filename=item.attachment.filename,
        )
    return item.email


def record_outcome(
    db: Database,
    item: Outgoing,
    now: datetime,
    settings: Settings,
    *,
    note: str | None,
    error: str | None,
    permanent: bool = False,
) -> str:
    with db.write() as session:
        reminder = session.scalars(
            select(Reminder).where(Reminder.id == item.reminder_id).with_for_update()
        ).one()
        reminder.updated_at = now
        reminder.lease_until = None
        if error is None:
            reminder.status, reminder.sent_at, reminder.last_error = SENT, now, note or None
            return SENT
        if reminder.status != SENDING or reminder.attempts != item.attempt:
            return reminder.status
        reminder.last_error = error[:500]
        if permanent or reminder.attempts >= settings.reminder_max_attempts:
            reminder.status, reminder.next_attempt_at = FAILED, None
            log.warning("reminder failed for good", extra={"reminder": reminder.id, "error": error})
        else:
            delay = settings.reminder_retry_base_s * 2 ** (reminder.attempts - 1)
            reminder.status, reminder.next_attempt_at = PENDING, now + timedelta(seconds=delay)
            log.info("reminder send failed; will retry", extra={"reminder": reminder.id, "error": error})
        return reminder.status


def send_due(db: Database, now: datetime) -> int:
    """A job with its own transactions. Returns the number of reminders handled."""
    settings: Settings = db.settings
    started = time.monotonic()
    outgoing, handled = claim(db, now, settings)
    if not outgoing:
        return handled
    sender = mail.sender_for(settings)
    try:
        for item in outgoing:
            permanent = False
            try:
                email = with_attachment(item)
            except Exception as broken:
                # The same figures would fail the same way: no retry. The reminder is leased, so
                # leaving it would only end as abandoned; the reason is recorded instead.
                log.exception("cannot render a reminder's invoice PDF", extra={"reminder": item.reminder_id})
                reason = f"cannot render the invoice PDF: {type(broken).__name__}: {broken}"
                record_outcome(db, item, now, settings, note=None, error=reason, permanent=True)
                continue
            # `now` is the job's start on the worker's clock; the batch may have taken a while.
            moment = now + timedelta(seconds=time.monotonic() - started)
            if not start_sending(db, item, moment, settings):
                log.info("reminder taken back before its turn", extra={"reminder": item.reminder_id})
                continue
            try:
                note = sender.send(email, item.filename_stem)
                error = None
            except mail.SendError as failure:
                note, error, permanent = None, str(failure), failure.permanent
            record_outcome(db, item, now, settings, note=note, error=error, permanent=permanent)
    finally:
        sender.close()
    return handled


def schedule_job(db: Database, now: datetime) -> int:
    with db.write() as session:
        return schedule_due(session, now, catch_up_days=db.settings.reminder_catch_up_days)
