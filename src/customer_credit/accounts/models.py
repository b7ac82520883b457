from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from customer_credit.db.base import Base, UtcDateTime, utcnow

OPEN = "Open"
CLOSED = "Closed"


class Account(Base):
    """A credit account. `balance_cents` and `pre_authorized_cents` are kept equal to what the
    ledger and the live holds give (checked by `customer-credit check`)."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("credit_limit_cents >= 0", name="credit_limit"),
        CheckConstraint("tolerance_units BETWEEN 0 AND 10000", name="tolerance"),
        CheckConstraint("pre_authorized_cents >= 0", name="pre_authorized"),
        CheckConstraint("status IN ('Open', 'Closed')", name="status"),
        CheckConstraint("trust_level IN ('good', 'normal', 'watch')", name="trust_level"),
        # A public id names at most one open account per store; closed ones keep theirs for audit.
        Index(
            "uq_accounts_open_public_id",
            "store_id",
            "public_id",
            unique=True,
            sqlite_where=text("status = 'Open'"),
            postgresql_where=text("status = 'Open'"),
        ),
        Index("ix_accounts_store_status_created", "store_id", "status", "created_at", "id"),
        Index("ix_accounts_store_email", "store_id", "email"),
        # Retrieval by public id finds closed accounts too (migration 0004).
        Index("ix_accounts_store_public_id", "store_id", "public_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    public_id: Mapped[str] = mapped_column(String(200))
    document: Mapped[str] = mapped_column(String(100))
    document_type: Mapped[str] = mapped_column(String(10))
    email: Mapped[str] = mapped_column(String(254))
    description: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    credit_limit_cents: Mapped[int] = mapped_column(BigInteger)
    tolerance_units: Mapped[int] = mapped_column(Integer)
    # The limit and tolerance the account was opened with: the Credit entries start from these.
    initial_credit_limit_cents: Mapped[int] = mapped_column(BigInteger)
    initial_tolerance_units: Mapped[int] = mapped_column(Integer)
    balance_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    pre_authorized_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(10), default=OPEN)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # An operator's judgement of the customer: good, normal or watch (credit_control.trust).
    trust_level: Mapped[str] = mapped_column(String(8), default="normal", server_default="normal")


class Holder(Base):
    __tablename__ = "holders"
    __table_args__ = (
        # An e-mail holds at most one open account per store (removed holders keep their row).
        Index(
            "uq_holders_active_email",
            "store_id",
            "email",
            unique=True,
            sqlite_where=text("removed_at IS NULL"),
            postgresql_where=text("removed_at IS NULL"),
        ),
        Index("ix_holders_account", "account_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    level: Mapped[int] = mapped_column(Integer, default=2)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
