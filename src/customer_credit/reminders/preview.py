"""What the reminders job would send, from the invoices as they are now: on a given day
(`preview`), or when the worker runs at a given moment (`preview_at`, a dry run of its claim).
Both only read."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from customer_credit.accounts.models import Account
from customer_credit.dates import store_zone
from customer_credit.invoices.models import OPENED, Invoice
from customer_credit.reminders.models import PENDING, PRIOR, Reminder
from customer_credit.reminders.schedule import (
    DEFAULT_CATCH_UP_DAYS,
    claim_decisions,
    due_candidates,
    local_midnight,
    presentation_of,
    send_moment,
    store_triggers,
)
from customer_credit.reminders.sender import recipients_of
from customer_credit.reminders.templates import Presentation
from customer_credit.stores.models import Store, StoreConfig

MAX_ITEMS = 10_000


@dataclass(frozen=True)
class PreviewItem:
    store: str
    send_at: datetime
    timezone: str
    invoice_id: str
    friendly_id: str
    trigger: str
    recipients: list[str]
    amount_due_cents: int
    currency: str
    status: str  # "would send", or the status of the reminder already claimed


def preview(session: Session, day: date, *, store_name: str | None = None) -> list[PreviewItem]:
    items: list[PreviewItem] = []
    for config, name in _store_configs(session, store_name):
        look = presentation_of(config)
        zone = store_zone(config)
        for trigger in store_triggers(session, config):
            shift = timedelta(days=trigger.days)
            due_day = day + shift if trigger.kind == PRIOR else day - shift
            invoices = session.scalars(
                select(Invoice)
                .where(
                    Invoice.store_id == config.store_id,
                    Invoice.status == OPENED,
                    Invoice.due_at >= local_midnight(due_day, zone),
                    Invoice.due_at < local_midnight(due_day + timedelta(days=1), zone),
                )
                .order_by(Invoice.due_at, Invoice.id)
                .limit(MAX_ITEMS)
            ).all()
            for invoice in invoices:
                moment = send_moment(invoice.due_at, trigger, zone)
                if trigger.kind == PRIOR and moment >= invoice.due_at:
                    continue
                claimed = session.scalar(
                    select(Reminder.status).where(
                        Reminder.invoice_id == invoice.id,
                        Reminder.kind == trigger.kind,
                        Reminder.days == trigger.days,
                        Reminder.due_at == invoice.due_at,
                    )
                )
                items.append(
                    _item(session, name, look, invoice, trigger.label, moment, claimed or "would send")
                )
    items.sort(key=lambda item: (item.send_at, item.store, item.invoice_id))
    return items


def preview_at(
    session: Session,
    at: datetime,
    *,
    store_name: str | None = None,
    catch_up_days: int = DEFAULT_CATCH_UP_DAYS,
) -> list[PreviewItem]:
    """What a worker run at `at` would do with reminders, decided by the job's own rules
    (schedule.due_candidates / claim_decisions) without claiming anything: the reminders it
    would claim ("would send", or "would skip: why"), and those already claimed and waiting
    for their (next) attempt by then ("pending")."""
    items: list[PreviewItem] = []
    for config, name in _store_configs(session, store_name):
        look = presentation_of(config)
        triggers = {(trigger.kind, trigger.days): trigger for trigger in store_triggers(session, config)}
        for candidate, reason in claim_decisions(session, due_candidates(session, config, at, catch_up_days)):
            status = f"would skip: {reason}" if reason else "would send"
            items.append(
                _item(
                    session, name, look, candidate.invoice, candidate.trigger.label, candidate.moment, status
                )
            )
        waiting = session.execute(
            select(Reminder, Invoice)
            .join(Invoice, Invoice.id == Reminder.invoice_id)
            .where(
                Reminder.store_id == config.store_id,
                Reminder.status == PENDING,
                Reminder.next_attempt_at <= at,
            )
            .order_by(Reminder.next_attempt_at, Reminder.id)
            .limit(MAX_ITEMS)
        ).all()
        for reminder, invoice in waiting:
            trigger = triggers.get((reminder.kind, reminder.days))
            label = trigger.label if trigger else f"{reminder.kind} {reminder.days}"
            items.append(_item(session, name, look, invoice, label, reminder.scheduled_at, PENDING))
    items.sort(key=lambda item: (item.send_at, item.store, item.invoice_id))
    return items


def _store_configs(session: Session, store_name: str | None) -> list[tuple[StoreConfig, str]]:
    """Each store's config and name, by name; only the store `store_name` when it is given."""
    query = select(StoreConfig, Store.name).join(Store, Store.id == StoreConfig.store_id)
    if store_name:
        query = query.where(Store.name == store_name)
    return [(config, name) for config, name in session.execute(query.order_by(Store.name)).all()]


def _item(
    session: Session,
    store: str,
    look: Presentation,
    invoice: Invoice,
    trigger: str,
    send_at: datetime,
    status: str,
) -> PreviewItem:
    to, cc = recipients_of(session, session.get_one(Account, invoice.account_id))
    return PreviewItem(
        store=store,
        send_at=send_at,
        timezone=look.timezone,
        invoice_id=invoice.public_id,
        friendly_id=invoice.friendly_id,
        trigger=trigger,
        recipients=to + cc,
        amount_due_cents=invoice.value_cents - invoice.paid_cents,
        currency=look.currency,
        status=status,
    )
