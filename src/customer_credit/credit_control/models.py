from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from customer_credit.db.base import Base, UtcDateTime, utcnow

POLICY_OFF = "off"
POLICY_FLAG = "flag"  # a new hold goes through, flagged
POLICY_BLOCK = "block"  # a new hold is refused
POLICY_MODES = (POLICY_OFF, POLICY_FLAG, POLICY_BLOCK)


class CreditControlSettings(Base):
    """A store's credit-control settings (none of them is in VTEX's API)."""

    __tablename__ = "credit_control_settings"
    __table_args__ = (
        CheckConstraint("overdue_policy IN ('off', 'flag', 'block')", name="overdue_policy"),
        CheckConstraint("overdue_policy_days BETWEEN 0 AND 3650", name="overdue_policy_days"),
    )

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    # New pre-authorizations on an account with an invoice overdue by more than
    # `overdue_policy_days` days are refused (block), let through flagged (flag), or not looked at.
    overdue_policy: Mapped[str] = mapped_column(String(8), default=POLICY_OFF)
    overdue_policy_days: Mapped[int] = mapped_column(Integer, default=0)
    updated_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class OverdueOverride(Base):
    """An operator lets one account take new holds despite the overdue policy, until a moment.
    Rows are never deleted: a revoked or lapsed override stays as the record of who allowed what."""

    __tablename__ = "overdue_overrides"
    __table_args__ = (Index("ix_overdue_overrides_account", "account_id", "allowed_until"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    allowed_until: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    set_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


CREDIT_NOTE = "credit_note"
WRITE_OFF = "write_off"
ADJUSTMENT_KINDS = (CREDIT_NOTE, WRITE_OFF)


class InvoiceAdjustment(Base):
    """A numbered document that takes part of what is owed off an Opened invoice: a credit note
    (the store owes the customer that much back) or a write-off (the store gives up collecting
    it). Rows are never changed or deleted; each has its ledger entry (docs/credit-control.md)."""

    __tablename__ = "invoice_adjustments"
    __table_args__ = (
        CheckConstraint("kind IN ('credit_note', 'write_off')", name="kind"),
        CheckConstraint("amount_cents > 0", name="amount"),
        Index("uq_invoice_adjustments_number", "store_id", "kind", "number", unique=True),
        # A client's own reference (its ERP's document id) is applied once.
        Index(
            "uq_invoice_adjustments_reference",
            "store_id",
            "kind",
            "reference",
            unique=True,
            sqlite_where=text("reference IS NOT NULL"),
            postgresql_where=text("reference IS NOT NULL"),
        ),
        Index("ix_invoice_adjustments_invoice", "invoice_id", "id"),
        Index("ix_invoice_adjustments_store_created", "store_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    kind: Mapped[str] = mapped_column(String(12))
    number: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(500))
    reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class BalanceApplication(Base):
    """Part of an account's unapplied credit (an overpayment, a refund of paid money) paying one
    of its Opened invoices. Never changed or deleted; a payment reversal restores it by entry."""

    __tablename__ = "balance_applications"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount"),
        Index(
            "uq_balance_applications_reference",
            "store_id",
            "reference",
            unique=True,
            sqlite_where=text("reference IS NOT NULL"),
            postgresql_where=text("reference IS NOT NULL"),
        ),
        Index("ix_balance_applications_account", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    applied_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DocumentCounter(Base):
    """The last number given to a store's documents of one kind (credit notes, write-offs)."""

    __tablename__ = "document_counters"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class DunningLevel(Base):
    """One escalation step after the due date: its own e-mail (the store's "after" reminder
    template when it has none) and an optional late fee, posted once per invoice and step."""

    __tablename__ = "dunning_levels"
    __table_args__ = (
        CheckConstraint("days BETWEEN 1 AND 3650", name="days"),
        CheckConstraint("fee_fixed_cents >= 0", name="fee_fixed"),
        CheckConstraint("fee_rate_units BETWEEN 0 AND 10000", name="fee_rate"),
        CheckConstraint("fee_due_days BETWEEN 0 AND 365", name="fee_due_days"),
    )

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    days: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    time_of_day: Mapped[str] = mapped_column(String(5), default="09:00")
    subject: Mapped[str | None] = mapped_column(String(500), nullable=True)
    text_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    html_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    fee_fixed_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # Of what is still owed on the overdue invoice, in ten-thousandths.
    fee_rate_units: Mapped[int] = mapped_column(Integer, default=0)
    fee_due_days: Mapped[int] = mapped_column(Integer, default=10)
    # When this step's fee was set: invoices that reached the step before are not charged it.
    fee_since: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    updated_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
