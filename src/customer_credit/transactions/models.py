from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from customer_credit.db.base import Base, UtcDateTime, utcnow

AUTHORIZED = "Authorized"
SETTLED = "Settled"
CANCELLED = "Cancelled"
EXPIRED = "Expired"


class Transaction(Base):
    """A purchase on credit: a hold while Authorized, then the settled value and its refunds."""

    __tablename__ = "transactions"
    __table_args__ = (
        CheckConstraint("hold_cents >= 0", name="hold"),
        CheckConstraint("original_hold_cents > 0", name="original_hold"),
        CheckConstraint("installments BETWEEN 1 AND 99", name="installments"),
        CheckConstraint("settled_cents >= 0", name="settled"),
        CheckConstraint("refunded_cents >= 0 AND refunded_cents <= settled_cents", name="refunded"),
        CheckConstraint("interest_cents >= 0 AND interest_cents <= settled_cents", name="interest"),
        CheckConstraint("status IN ('Authorized', 'Settled', 'Cancelled', 'Expired')", name="status"),
        Index("uq_transactions_store_public_id", "store_id", "public_id", unique=True),
        Index("ix_transactions_account", "account_id", "created_at"),
        # One late fee per overdue invoice and dunning step, whatever the number of workers.
        Index(
            "uq_transactions_late_fee",
            "late_fee_invoice_id",
            "late_fee_days",
            unique=True,
            sqlite_where=text("late_fee_invoice_id IS NOT NULL"),
            postgresql_where=text("late_fee_invoice_id IS NOT NULL"),
        ),
        Index(
            "ix_transactions_expiring",
            "expires_at",
            sqlite_where=text("status = 'Authorized' AND expires_at IS NOT NULL"),
            postgresql_where=text("status = 'Authorized' AND expires_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    public_id: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Set by the checkout connector: VTEX's paymentId and the order's reference.
    payment_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    order_reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    settle: Mapped[bool] = mapped_column(Boolean)
    installments: Mapped[int] = mapped_column(Integer)
    # The live hold (counts in the account's preAuthorizedCredit while Authorized).
    hold_cents: Mapped[int] = mapped_column(BigInteger)
    original_hold_cents: Mapped[int] = mapped_column(BigInteger)
    settled_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # Part of the refunds that exceeded the open invoices and went back to the balance.
    refund_excess_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # The part of settled_cents that a payment condition's interest added (docs/payment-conditions.md).
    interest_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    payment_condition: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # Under the "flag" overdue policy: the days overdue of the account's oldest overdue invoice
    # when this hold was let through (credit_control.overdue_policy).
    overdue_flag_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # A late fee (credit_control.dunning) is a transaction of its own, settled into one invoice:
    # the overdue invoice it was charged for and the dunning step (days after the due date).
    # use_alter: invoices point at transactions too; the cycle is broken when tables are sorted.
    late_fee_invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoices.id", use_alter=True), nullable=True
    )
    late_fee_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    friendly_prefix: Mapped[str | None] = mapped_column(String(8), nullable=True)
    status: Mapped[str] = mapped_column(String(12), default=AUTHORIZED)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
