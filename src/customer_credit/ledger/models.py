from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from customer_credit.db.base import Base, UtcDateTime, utcnow

CREDIT = "Credit"
INVOICE = "Invoice"
PAYMENT = "Payment"
STATEMENT = "Statement"


class Statement(Base):
    """An append-only ledger entry. Nothing updates or deletes these rows."""

    __tablename__ = "statements"
    __table_args__ = (
        CheckConstraint("origin IN ('Credit', 'Invoice', 'Payment', 'Statement')", name="origin"),
        Index("ix_statements_account_created", "account_id", "created_at", "id"),
        # The dashboard's payments by month read this index alone (migration 0019).
        Index("ix_statements_store_origin_created", "store_id", "origin", "created_at", "value_cents"),
        # Decrease-balance requests are idempotent on their statementId.
        Index(
            "uq_statements_external_id",
            "account_id",
            "external_id",
            unique=True,
            sqlite_where=text("external_id IS NOT NULL"),
            postgresql_where=text("external_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    origin: Mapped[str] = mapped_column(String(10))
    value_cents: Mapped[int] = mapped_column(BigInteger)
    done_by: Mapped[str] = mapped_column(String(254))
    meta: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
