"""Operator accounts of the admin console, and their sign-in sessions."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from customer_credit.db.base import Base, UtcDateTime, utcnow

ADMIN = "admin"
VIEWER = "viewer"
ROLES = (ADMIN, VIEWER)


class Operator(Base):
    """A person of a store's finance team. Only the Argon2id hash of the password is kept."""

    __tablename__ = "operators"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'viewer')", name="role"),
        Index("uq_operators_store_email", "store_id", "email", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class OperatorSession(Base):
    """A signed-in browser. The cookie carries a random token; only its SHA-256 is stored, so
    signing out (or an operator being disabled) ends the session on the server too."""

    __tablename__ = "operator_sessions"
    __table_args__ = (Index("ix_operator_sessions_operator", "operator_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
