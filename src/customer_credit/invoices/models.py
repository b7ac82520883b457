from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from customer_credit.db.base import Base, UtcDateTime, utcnow

OPENED = "Opened"
PAID = "Paid"
CANCELLED = "Cancelled"
STATUSES = (OPENED, PAID, CANCELLED)


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("value_cents >= 0", name="value"),
        CheckConstraint("paid_cents >= 0 AND paid_cents <= value_cents", name="paid"),
        CheckConstraint("status IN ('Opened', 'Paid', 'Cancelled')", name="status"),
        CheckConstraint("postponement_count >= 0", name="postponements"),
        CheckConstraint("credited_cents >= 0 AND written_off_cents >= 0", name="adjusted"),
        CheckConstraint("balance_applied_cents >= 0 AND balance_applied_cents <= paid_cents", name="applied"),
        Index("uq_invoices_store_public_id", "store_id", "public_id", unique=True),
        Index("uq_invoices_store_friendly_id", "store_id", "friendly_id", unique=True),
        # Pages in creation order, and the dashboard's invoiced-by-month sums read from the index
        # alone: status and value are key columns because SQLite has no INCLUDE (migration 0019).
        Index("ix_invoices_store_created", "store_id", "created_at", "id", "status", "value_cents"),
        # Covering on PostgreSQL: a status + due-date search reads no table row (migration 0004).
        Index(
            "ix_invoices_store_status_due",
            "store_id",
            "status",
            "due_at",
            postgresql_include=["value_cents", "created_at", "id"],
        ),
        Index("ix_invoices_account_created", "account_id", "created_at", "id"),
        Index("ix_invoices_transaction", "transaction_id", "installment"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id"))
    public_id: Mapped[str] = mapped_column(String(80))
    friendly_id: Mapped[str] = mapped_column(String(20))
    installment: Mapped[int] = mapped_column(Integer)
    number_of_installments: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[str] = mapped_column(String(200), default="")
    # From a checkout payment (extensions on the wire): VTEX's paymentId and the order's reference.
    payment_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    order_reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    value_cents: Mapped[int] = mapped_column(BigInteger)
    paid_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # Taken off value_cents by credit notes and write-offs (value_cents is what is left to
    # collect or collected; the documents are in invoice_adjustments).
    credited_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    written_off_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The part of paid_cents that came from the account's unapplied credit (balance_applications).
    balance_applied_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    status: Mapped[str] = mapped_column(String(10), default=OPENED)
    observation: Mapped[str | None] = mapped_column(Text, nullable=True)
    payment_link: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    postponement_count: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    original_due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


# Case-insensitive substring search on observations (PostgreSQL, pg_trgm; migration 0004).
Index(
    "ix_invoices_observation_trgm",
    func.lower(Invoice.observation).label("observation_lower"),
    postgresql_using="gin",
    postgresql_ops={"observation_lower": "gin_trgm_ops"},
    postgresql_where=Invoice.observation.is_not(None),
)
