from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from customer_credit.db.base import Base, UtcDateTime, utcnow


class PaymentCondition(Base):
    """Terms that date a settlement's installments: installment k (1-based) is due
    `due_days[k-1]` days after the settlement, and past the list, every `every_days` more.
    "30/60/90" is due_days [30, 60, 90] with every_days 30; "every 15 days after the first at
    45" is due_days [45] with every_days 15. Each installment may bear interest: k × the rate
    (ten-thousandths) of its part."""

    __tablename__ = "payment_conditions"
    __table_args__ = (
        CheckConstraint("every_days BETWEEN 1 AND 3650", name="every_days"),
        CheckConstraint("interest_rate_units BETWEEN 0 AND 10000", name="interest_rate"),
        Index("uq_payment_conditions_store_name", "store_id", "name", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    name: Mapped[str] = mapped_column(String(100))
    due_days: Mapped[list] = mapped_column(JSON)
    every_days: Mapped[int] = mapped_column(Integer)
    interest_rate_units: Mapped[int] = mapped_column(Integer, default=0)
    # The store's default for settlements that name no condition (at most one per store).
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
