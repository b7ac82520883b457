from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from customer_credit.db.base import Base, UtcDateTime, utcnow


class Store(Base):
    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class StoreConfig(Base):
    """One row per store once configured; rates in ten-thousandths, amounts in cents."""

    __tablename__ = "store_configs"
    __table_args__ = (
        CheckConstraint("daily_interest_rate_units BETWEEN 0 AND 10000", name="interest_rate"),
        CheckConstraint("tax_rate_units BETWEEN 0 AND 10000", name="tax_rate"),
        CheckConstraint("growth_rate_units BETWEEN 0 AND 10000", name="growth_rate"),
        CheckConstraint("invoice_postponement_limit >= 0", name="postponement_limit"),
        CheckConstraint("max_postponement_days >= 0", name="postponement_days"),
        CheckConstraint("default_credit_cents >= 0", name="default_credit"),
    )

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    daily_interest_rate_units: Mapped[int] = mapped_column(Integer, default=0)
    tax_rate_units: Mapped[int] = mapped_column(Integer, default=0)
    invoice_postponement_limit: Mapped[int] = mapped_column(Integer, default=0)
    max_postponement_days: Mapped[int] = mapped_column(Integer, default=0)
    default_credit_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    growth_rate_units: Mapped[int] = mapped_column(Integer, default=0)
    my_credits_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    tolerance_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    automatic_account_creation_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    postponement_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    notifications: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Not part of the API contract: set in the console, shown in "My Credits" and e-mails.
    payment_instructions: Mapped[str | None] = mapped_column(Text, nullable=True)
    locale: Mapped[str] = mapped_column(String(35), default="en_US", server_default="en_US")
    currency: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # The store's identity on documents (PDF invoices and statements): a name to print, and a
    # logo (PNG or JPEG, small).
    display_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    logo_media_type: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # Reminder e-mails carry the invoice as a PDF attachment (documents.pdf).
    attach_invoice_pdf: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
