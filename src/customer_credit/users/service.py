"""Operators: create, change password, sign in (Argon2id), sessions, and what each role may do."""

import hashlib
import os
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from customer_credit.auth import resources
from customer_credit.auth.principal import Principal
from customer_credit.db.base import utcnow
from customer_credit.errors import Conflict, InvalidInput, NotFound, Unauthorized, field_error
from customer_credit.stores.models import Store
from customer_credit.users.models import ADMIN, ROLES, VIEWER, Operator, OperatorSession
from customer_credit.validation import clean_email, clean_text, normalize_email

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
SESSION_TTL = timedelta(hours=12)

# Argon2id, memory-hard: 64 MiB and 3 passes per hash (the RFC 9106 second recommendation).
# The two environment variables exist for test suites, which would otherwise spend most of
# their time hashing; a hash keeps its own parameters, so changing them later is safe, and a
# stored hash made with other parameters is replaced at the next sign-in.
DEFAULT_TIME_COST = 3
DEFAULT_MEMORY_KIB = 64 * 1024


def _make_hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=max(1, time_cost), memory_cost=max(1024, memory_kib), parallelism=2)


_hasher = _make_hasher(
    int(os.environ.get("CUSTOMER_CREDIT_ARGON2_TIME_COST") or DEFAULT_TIME_COST),
    int(os.environ.get("CUSTOMER_CREDIT_ARGON2_MEMORY_KIB") or DEFAULT_MEMORY_KIB),
)
_dummy_hash: str | None = None


def configure_hasher(time_cost: int = DEFAULT_TIME_COST, memory_kib: int = DEFAULT_MEMORY_KIB) -> None:
    global _hasher, _dummy_hash
    _hasher = _make_hasher(time_cost, memory_kib)
    _dummy_hash = None


def hash_parameters(password_hash: str) -> str:
    """ "m=65536,t=3,p=2" for a stored hash: what it costs to check it."""
    return password_hash.split("$")[3]


def _dummy() -> str:
    """Verified when the e-mail is unknown, so the answer takes as long as for a wrong password."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
    return _dummy_hash


# What each role may do, as API resources: the console checks the same resources as the API.
ROLE_RESOURCES = {
    ADMIN: frozenset({resources.MAIN_ACCESS}),
    VIEWER: frozenset(
        {
            resources.READ_INVOICES,
            resources.READ_ACCOUNTS,
            resources.READ_STATEMENTS,
            resources.READ_CONFIGURATION,
        }
    ),
}


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def _check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise field_error("password", f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    clean_text("password", password, max_length=MAX_PASSWORD, allow_newlines=False)
    return password


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise field_error("role", f"must be one of {', '.join(ROLES)}")
    return role


def find_operator(session: Session, store: Store, email: str) -> Operator | None:
    return session.scalar(
        select(Operator).where(Operator.store_id == store.id, Operator.email == normalize_email(email))
    )


def create_operator(session: Session, store: Store, email: str, role: str, password: str) -> Operator:
    email = clean_email("email", email)
    _check_role(role)
    _check_password(password)
    if find_operator(session, store, email) is not None:
        raise Conflict(f"{email} is already an operator of {store.name}", code="OperatorExists")
    now = utcnow()
    operator = Operator(
        store_id=store.id,
        email=email,
        password_hash=_hasher.hash(password),
        role=role,
        created_at=now,
        updated_at=now,
    )
    session.add(operator)
    session.flush()
    return operator


def set_password(session: Session, store: Store, email: str, password: str) -> Operator:
    """Changes the password and ends every session of the operator."""
    operator = find_operator(session, store, email)
    if operator is None:
        raise NotFound(f"no operator {email} in {store.name}", code="OperatorNotFound")
    operator.password_hash = _hasher.hash(_check_password(password))
    operator.updated_at = utcnow()
    _revoke_all(session, operator)
    return operator


def _enabled_admins(session: Session, store: Store) -> list[Operator]:
    """Locked, so two admins demoting each other at once cannot both pass the check below."""
    return list(
        session.scalars(
            select(Operator)
            .where(Operator.store_id == store.id, Operator.role == ADMIN, Operator.disabled_at.is_(None))
            .order_by(Operator.id)
            .with_for_update()
        )
    )


def _keep_an_admin(session: Session, store: Store, operator: Operator) -> None:
    """The console's guard: an admin cannot leave their store without an enabled admin (only
    the CLI, run by whoever runs the server, can then fix that)."""
    admins = _enabled_admins(session, store)
    if [admin.id for admin in admins] == [operator.id]:
        raise Conflict(
            f"{operator.email} is the only enabled admin of {store.name}; make another admin first",
            code="LastAdmin",
        )


def set_role(session: Session, store: Store, email: str, role: str) -> Operator:
    """A new role takes effect on the operator's next request (sessions read it each time). The
    store keeps an enabled admin."""
    _check_role(role)
    operator = find_operator(session, store, email)
    if operator is None:
        raise NotFound(f"no operator {email} in {store.name}", code="OperatorNotFound")
    if role != ADMIN and operator.role == ADMIN:
        _keep_an_admin(session, store, operator)
    operator.role = role
    operator.updated_at = utcnow()
    return operator


def set_disabled(
    session: Session, store: Store, email: str, disabled: bool, *, keep_an_admin: bool = False
) -> Operator:
    operator = find_operator(session, store, email)
    if operator is None:
        raise NotFound(f"no operator {email} in {store.name}", code="OperatorNotFound")
    if keep_an_admin and disabled and operator.role == ADMIN:
        _keep_an_admin(session, store, operator)
    operator.disabled_at = utcnow() if disabled else None
    operator.updated_at = utcnow()
    if disabled:
        _revoke_all(session, operator)
    return operator


def list_operators(session: Session, store: Store | None = None) -> list[Operator]:
    query = select(Operator).order_by(Operator.store_id, Operator.email)
    if store is not None:
        query = query.where(Operator.store_id == store.id)
    return list(session.scalars(query))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def verify_sign_in(session: Session, email: str, password: str, store_name: str | None = None) -> Operator:
    """The operator whose e-mail and password these are. An e-mail may be an operator of
    several stores; when the password fits more than one, the store must be named."""
    email = normalize_email(email or "")
    if len(email) > 254 or len(password or "") > MAX_PASSWORD:
        raise Unauthorized("wrong e-mail or password", code="InvalidCredentials")
    query = (
        select(Operator, Store.name)
        .join(Store, Store.id == Operator.store_id)
        .where(Operator.email == email, Operator.disabled_at.is_(None))
        .order_by(Operator.id)
    )
    if store_name:
        query = query.where(Store.name == store_name.strip())
    candidates = list(session.execute(query))
    if not candidates:
        _verify(_dummy(), password or "")
        raise Unauthorized("wrong e-mail or password", code="InvalidCredentials")
    matching = [(op, name) for op, name in candidates if _verify(op.password_hash, password or "")]
    if not matching:
        raise Unauthorized("wrong e-mail or password", code="InvalidCredentials")
    if len(matching) > 1:
        raise InvalidInput(
            "this e-mail signs in to several stores; name the store",
            code="StoreRequired",
            details=[{"field": "store", "choices": sorted(name for _op, name in matching)}],
        )
    operator = matching[0][0]
    if _hasher.check_needs_rehash(operator.password_hash):
        operator.password_hash = _hasher.hash(password)
    return operator


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, operator: Operator, ttl: timedelta = SESSION_TTL) -> str:
    """Returns the raw session token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        OperatorSession(
            operator_id=operator.id, token_sha256=token_hash(token), created_at=now, expires_at=now + ttl
        )
    )
    session.flush()
    return token


def session_operator(session: Session, token: str, now: datetime | None = None) -> Operator | None:
    """The operator signed in with this token, if the session is live and the operator enabled."""
    now = now or utcnow()
    row = session.execute(
        select(OperatorSession, Operator)
        .join(Operator, Operator.id == OperatorSession.operator_id)
        .where(OperatorSession.token_sha256 == token_hash(token))
    ).first()
    if row is None:
        return None
    live, operator = row
    if live.revoked_at is not None or live.expires_at <= now or operator.disabled_at is not None:
        return None
    return operator


def end_session(session: Session, token: str) -> None:
    live = session.scalar(select(OperatorSession).where(OperatorSession.token_sha256 == token_hash(token)))
    if live is not None and live.revoked_at is None:
        live.revoked_at = utcnow()


def _revoke_all(session: Session, operator: Operator) -> None:
    now = utcnow()
    for live in session.scalars(
        select(OperatorSession).where(
            OperatorSession.operator_id == operator.id, OperatorSession.revoked_at.is_(None)
        )
    ):
        live.revoked_at = now


def principal_for(operator: Operator) -> Principal:
    """The operator acts for their store, under their e-mail (the ledger's `doneby`), with the
    resources of their role."""
    return Principal(store_id=operator.store_id, name=operator.email, resources=ROLE_RESOURCES[operator.role])


def can_change(operator: Operator) -> bool:
    return operator.role == ADMIN
