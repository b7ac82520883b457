from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from customer_credit.db.base import Base, UtcDateTime, utcnow


class IdempotencyRecord(Base):
    """The first response to a request carrying an Idempotency-Key, written in the same
    transaction as the change it made."""

    __tablename__ = "idempotency_records"
    __table_args__ = (
        Index("uq_idempotency_key", "store_id", "credential", "key", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    credential: Mapped[str] = mapped_column(String(254))
    key: Mapped[str] = mapped_column(String(255))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
