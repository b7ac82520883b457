"""A store's reminder templates (override, read, reset) and its reminder log."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from customer_credit.db.base import utcnow
from customer_credit.errors import field_error
from customer_credit.invoices.models import Invoice
from customer_credit.reminders.models import KINDS, Reminder, ReminderTemplate
from customer_credit.reminders.templates import TemplateSet, check_templates, default_templates
from customer_credit.stores.service import get_config


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise field_error("kind", f"must be one of {', '.join(KINDS)}")
    return kind


def get_templates(session: Session, store_id: int, kind: str) -> tuple[TemplateSet, bool]:
    """The templates in use and whether they are the store's own."""
    own = session.get(ReminderTemplate, (store_id, _kind(kind)))
    if own is None:
        return default_templates(kind, get_config(session, store_id).locale), False
    return TemplateSet(own.subject, own.text_body, own.html_body), True


def set_templates(
    session: Session, store_id: int, kind: str, *, subject: str, text: str, html: str | None
) -> TemplateSet:
    checked = check_templates(subject, text, html)
    own = session.get(ReminderTemplate, (store_id, _kind(kind)), with_for_update=True)
    if own is None:
        own = ReminderTemplate(store_id=store_id, kind=kind)
        session.add(own)
    own.subject, own.text_body, own.html_body = checked.subject, checked.text, checked.html
    own.updated_at = utcnow()
    session.flush()
    return checked


def reset_templates(session: Session, store_id: int, kind: str) -> TemplateSet:
    own = session.get(ReminderTemplate, (store_id, _kind(kind)), with_for_update=True)
    if own is not None:
        session.delete(own)
    return default_templates(kind, get_config(session, store_id).locale)


def reminder_log(
    session: Session, store_id: int, *, limit: int = 100, status: str | None = None, offset: int = 0
) -> list[tuple[Reminder, str]]:
    """The newest reminders first (of one status when given), with their invoice's public id."""
    query = (
        select(Reminder, Invoice.public_id)
        .join(Invoice, Invoice.id == Reminder.invoice_id)
        .where(Reminder.store_id == store_id)
        .order_by(Reminder.scheduled_at.desc(), Reminder.id.desc())
        .offset(offset)
        .limit(limit)
    )
    if status:
        query = query.where(Reminder.status == status)
    return [(row[0], row[1]) for row in session.execute(query).all()]


def count_reminders(session: Session, store_id: int, *, status: str | None = None) -> int:
    query = select(func.count()).select_from(Reminder).where(Reminder.store_id == store_id)
    if status:
        query = query.where(Reminder.status == status)
    return session.scalar(query) or 0
