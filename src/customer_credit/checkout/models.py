from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from customer_credit.db.base import Base, UtcDateTime, utcnow
from customer_credit.transactions.models import Transaction

# The Payment Provider Protocol's three statuses of a payment.
APPROVED = "approved"
DENIED = "denied"
UNDEFINED = "undefined"  # waiting for an operator's decision (manual review)

# Where the notification of a decision to VTEX's callbackUrl stands.
CALLBACK_NONE = "none"
CALLBACK_PENDING = "pending"
CALLBACK_DELIVERED = "delivered"
CALLBACK_FAILED = "failed"

SETTLEMENT = "settlement"
CANCELLATION = "cancellation"
REFUND = "refund"


class CheckoutPayment(Base):
    """A payment VTEX's gateway created (POST /payments), keyed by its paymentId: a retry finds
    this row and answers its current status instead of creating anything."""

    __tablename__ = "checkout_payments"
    __table_args__ = (
        CheckConstraint("status IN ('approved', 'denied', 'undefined')", name="status"),
        CheckConstraint(
            "callback_state IN ('none', 'pending', 'delivered', 'failed')", name="callback_state"
        ),
        CheckConstraint("value_cents > 0", name="value"),
        CheckConstraint("installments BETWEEN 1 AND 99", name="installments"),
        Index("uq_checkout_payments_store_payment", "store_id", "payment_id", unique=True),
        Index("ix_checkout_payments_store_status", "store_id", "status", "created_at"),
        Index(
            "ix_checkout_payments_review_deadline",
            "review_deadline_at",
            sqlite_where=text("status = 'undefined'"),
            postgresql_where=text("status = 'undefined'"),
        ),
        Index(
            "ix_checkout_payments_callback_due",
            "callback_next_at",
            sqlite_where=text("callback_state = 'pending'"),
            postgresql_where=text("callback_state = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    payment_id: Mapped[str] = mapped_column(String(64))
    # Our identifier of the payment for VTEX (its `tid`), whatever its status.
    tid: Mapped[str] = mapped_column(String(32))
    vtex_transaction_id: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), nullable=True)
    # Our hold, once the payment is approved.
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"), nullable=True)
    # Holding the hold keeps it in the session: the answer reads its id without a query.
    transaction: Mapped[Transaction | None] = relationship(Transaction, lazy="select")
    value_cents: Mapped[int] = mapped_column(BigInteger)
    installments: Mapped[int] = mapped_column(Integer)
    payment_condition: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(12))
    code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    message: Mapped[str | None] = mapped_column(String(500), nullable=True)
    buyer_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    buyer_document: Mapped[str | None] = mapped_column(String(100), nullable=True)
    delay_to_auto_settle_s: Mapped[int] = mapped_column(Integer)
    delay_to_cancel_s: Mapped[int] = mapped_column(Integer)
    # An undefined payment is denied if no operator decides by then.
    review_deadline_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    callback_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    callback_state: Mapped[str] = mapped_column(String(12), default=CALLBACK_NONE)
    callback_attempts: Mapped[int] = mapped_column(Integer, default=0)
    callback_next_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    callback_last_error: Mapped[str | None] = mapped_column(String(100), nullable=True)
    callback_last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CheckoutOperation(Base):
    """A settlement, cancellation or refund VTEX asked for, keyed by its requestId: a retry
    answers from this row and changes nothing. Only operations that succeeded are kept (a
    refused one changed nothing, and VTEX retries it)."""

    __tablename__ = "checkout_operations"
    __table_args__ = (
        CheckConstraint("kind IN ('settlement', 'cancellation', 'refund')", name="kind"),
        CheckConstraint("value_cents >= 0", name="value"),
        Index("uq_checkout_operations_request", "payment_pk", "kind", "request_id", unique=True),
        Index("uq_checkout_operations_public_id", "store_id", "public_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    payment_pk: Mapped[int] = mapped_column(ForeignKey("checkout_payments.id"))
    kind: Mapped[str] = mapped_column(String(12))
    request_id: Mapped[str] = mapped_column(String(128))
    public_id: Mapped[str] = mapped_column(String(32))
    value_cents: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CheckoutSettings(Base):
    """A store's connector settings (none of them is in VTEX's Customer Credit API)."""

    __tablename__ = "checkout_settings"
    __table_args__ = (
        CheckConstraint("hold_s BETWEEN 600 AND 2592000", name="hold"),
        CheckConstraint("review_window_s BETWEEN 600 AND 2592000", name="review_window"),
        CheckConstraint("auto_settle_delay_s BETWEEN 0 AND 604800", name="auto_settle_delay"),
    )

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    manual_review_enabled: Mapped[bool] = mapped_column(default=False)
    # How long an approved payment's hold lives: its delayToCancel.
    hold_s: Mapped[int] = mapped_column(Integer, default=30 * 86400)
    # How long an operator has to decide on a payment under review: its delayToCancel.
    review_window_s: Mapped[int] = mapped_column(Integer, default=2 * 86400)
    # VTEX's delayToAutoSettle; the longest it accepts (7 days), so that settling is left to
    # the order's invoicing.
    auto_settle_delay_s: Mapped[int] = mapped_column(Integer, default=7 * 86400)
    # The key and token this server sends with its callbacks to VTEX (generated in VTEX).
    callback_app_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    callback_app_token: Mapped[str | None] = mapped_column(String(500), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
