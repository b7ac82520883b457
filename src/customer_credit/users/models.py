"""Operator accounts of the admin console, and their sign-in sessions."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
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


class SignInCounter(Base):
    """Failed console sign-ins of one scope: an (e-mail, address) pair, an e-mail from every
    address, or an address for every e-mail (the unused part is ''). Kept in the database so
    that every server process counts against the same figures (console/throttle.py)."""

    __tablename__ = "sign_in_counters"
    __table_args__ = (
        CheckConstraint("scope IN ('pair', 'email', 'ip')", name="scope"),
        Index("ix_sign_in_counters_updated_at", "updated_at"),
    )

    scope: Mapped[str] = mapped_column(String(5), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    ip: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Attempts that have not succeeded: an attempt counts here before its password is checked.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Pair rows only: the last time this e-mail signed in from this address.
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SecretReveal(Base):
    """A secret waiting to be shown once, on the page a console form redirects to (a new API
    token, a webhook's signing secret, a generated password). Only half of it is here: the
    secret XOR a random pad of its length. The pad is in the browser's signed cookie, so this
    row alone, or the cookie alone, reveals nothing (users/reveals.py)."""

    __tablename__ = "secret_reveals"
    __table_args__ = (Index("ix_secret_reveals_expires_at", "expires_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_sha256: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(40))
    sealed_hex: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
