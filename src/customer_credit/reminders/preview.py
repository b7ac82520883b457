"""What the reminders job would send on a given day, from the invoices as they are now."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from customer_credit.accounts.models import Account
from customer_credit.dates import store_zone
from customer_credit.invoices.models import OPENED, Invoice
from customer_credit.reminders.models import PRIOR, Reminder
from customer_credit.reminders.schedule import local_midnight, presentation_of, send_moment, triggers_of
from customer_credit.reminders.sender import recipients_of
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
    query = select(StoreConfig, Store.name).join(Store, Store.id == StoreConfig.store_id)
    if store_name:
        query = query.where(Store.name == store_name)
    items: list[PreviewItem] = []
    for config, name in session.execute(query.order_by(Store.name)).all():
        look = presentation_of(config)
        zone = store_zone(config)
        for trigger in triggers_of(config):
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
                to, cc = recipients_of(session, session.get(Account, invoice.account_id))
                items.append(
                    PreviewItem(
                        store=name,
                        send_at=moment,
                        timezone=look.timezone,
                        invoice_id=invoice.public_id,
                        friendly_id=invoice.friendly_id,
                        trigger=trigger.label,
                        recipients=to + cc,
                        amount_due_cents=invoice.value_cents - invoice.paid_cents,
                        currency=look.currency,
                        status=claimed or "would send",
                    )
                )
    items.sort(key=lambda item: (item.send_at, item.store, item.invoice_id))
    return items
