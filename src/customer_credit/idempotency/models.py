from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from customer_credit.db.base import Base, UtcDateTime, utcnow


class IdempotencyRecord(Base):
    """One Idempotency-Key of one credential: claimed (committed) before its request runs, then
    holding that request's outcome, which every later request with the key replays.

    While `status_code` is NULL the request is executing under `claim_token`, until
    `claimed_until`; a claim past that moment belongs to a request that died, and the next
    request with the key may take it over (see idempotency.service)."""

    __tablename__ = "idempotency_records"
    __table_args__ = (Index("uq_idempotency_key", "store_id", "credential", "key", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    credential: Mapped[str] = mapped_column(String(254))
    key: Mapped[str] = mapped_column(String(255))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
