from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
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
