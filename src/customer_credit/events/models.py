"""The outbox (events), its sequencer, webhook endpoints and their delivery log."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from customer_credit.db.base import Base, UtcDateTime, utcnow
from customer_credit.invoices.models import Invoice

BigId = BigInteger().with_variant(Integer, "sqlite")

QUEUED = "queued"  # waits until the account's earlier delivery to this endpoint is done
PENDING = "pending"  # to be sent at next_attempt_at
DELIVERING = "delivering"  # claimed by a worker until lease_until
DELIVERED = "delivered"
FAILED = "failed"  # given up after the retry window
CANCELLED = "cancelled"  # the endpoint was deleted
OPEN_STATUSES = (QUEUED, PENDING, DELIVERING)
DELIVERY_STATUSES = (QUEUED, PENDING, DELIVERING, DELIVERED, FAILED, CANCELLED)


class Event(Base):
    """One change, written in the same transaction as the change. `seq` is given after the
    commit by the sequencer, in commit order, so a cursor over it never skips a late commit."""

    __tablename__ = "events"
    __table_args__ = (
        Index("uq_events_public_id", "public_id", unique=True),
        Index("uq_events_seq", "seq", unique=True),
        Index("ix_events_store_seq", "store_id", "seq"),
        Index(
            "ix_events_unsequenced",
            "id",
            sqlite_where=text("seq IS NULL"),
            postgresql_where=text("seq IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(40))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), nullable=True)
    type: Mapped[str] = mapped_column(String(60))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The exact JSON sent to receivers (and returned by GET /events): signed as is.
    body: Mapped[str] = mapped_column(Text)
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class EventSequence(Base):
    """A single row: the last `seq` handed out. Its row lock serializes the sequencer."""

    __tablename__ = "event_sequence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


# For the jobs that look for Opened invoices by due date across all stores (overdue events).
Index(
    "ix_invoices_opened_due",
    Invoice.due_at,
    sqlite_where=text("status = 'Opened'"),
    postgresql_where=text("status = 'Opened'"),
)


class OverdueNotice(Base):
    """An `invoice.overdue` event was written for this invoice and due date (once each)."""

    __tablename__ = "overdue_notices"

    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        Index("uq_webhook_endpoints_public_id", "public_id", unique=True),
        Index("ix_webhook_endpoints_store", "store_id", "deleted_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # The event types wanted; an empty list means every type.
    event_types: Mapped[list] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(100))
    # Events up to this seq have been turned into deliveries for this endpoint.
    cursor_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class WebhookDelivery(Base):
    """One event for one endpoint: its attempts and how the last one went (the delivery log):
    status code, duration and a fixed error category, never the receiver's body.

    Per endpoint and account one delivery at a time is `pending` or `delivering`; the later ones
    are `queued` and the one finishing (delivered or failed) promotes the next, under the
    endpoint's row lock, so claims need no ordering check."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'pending', 'delivering', 'delivered', 'failed', 'cancelled')",
            name="status",
        ),
        # event first: an index led by endpoint_id would tempt the planner away from the one below
        Index("uq_webhook_deliveries_event_endpoint", "event_id", "endpoint_id", unique=True),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        # The account's open deliveries to an endpoint, in order (small: open ones only).
        Index(
            "ix_webhook_deliveries_open",
            "endpoint_id",
            "ordering_key",
            "seq",
            sqlite_where=text("status IN ('queued', 'pending', 'delivering')"),
            postgresql_where=text("status IN ('queued', 'pending', 'delivering')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"))
    event_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("events.id"))
    # Deliveries with the same key (the account) go out one at a time, in seq order.
    ordering_key: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    first_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # One of events.transport's fixed categories ("timeout", …), never raw exception text.
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
