"""Reminders: one row per (invoice, trigger, due date), written in the transaction that claims
the send, so nothing is sent twice; and the templates a store overrides."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from customer_credit.db.base import Base, UtcDateTime, utcnow

PRIOR = "prior"
AFTER = "after"
KINDS = (PRIOR, AFTER)

PENDING = "pending"  # to send (again) at next_attempt_at
SENDING = "sending"  # claimed by a worker: being sent now
SENT = "sent"
FAILED = "failed"  # gave up after max attempts
SKIPPED = "skipped"  # not sent on purpose (superseded by a later trigger, or before the invoice)
OBSOLETE = "obsolete"  # the invoice was paid, cancelled or postponed before the send
ABANDONED = "abandoned"  # a worker died while sending: outcome unknown, never sent twice
STATUSES = (PENDING, SENDING, SENT, FAILED, SKIPPED, OBSOLETE, ABANDONED)


class Reminder(Base):
    __tablename__ = "reminders"
    __table_args__ = (
        CheckConstraint("kind IN ('prior', 'after')", name="kind"),
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'skipped', 'obsolete', 'abandoned')",
            name="status",
        ),
        Index("uq_reminders_trigger", "invoice_id", "kind", "days", "due_at", unique=True),
        Index("ix_reminders_due", "status", "next_attempt_at"),
        Index("ix_reminders_store_scheduled", "store_id", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    kind: Mapped[str] = mapped_column(String(5))
    days: Mapped[int] = mapped_column(Integer)
    # The due date this reminder was for: a postponement makes new reminders, not resends.
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    scheduled_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    recipients: Mapped[list] = mapped_column(JSON, default=list)
    subject: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ReminderTemplate(Base):
    """A store's own subject and bodies for one kind of reminder (defaults when absent)."""

    __tablename__ = "reminder_templates"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(5), primary_key=True)
    subject: Mapped[str] = mapped_column(String(500))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
