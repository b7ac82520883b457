"""Credentials: app keys with hashed tokens, and signed user tokens (VtexIdclientAutCookie)."""

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from customer_credit.auth.models import ApiKey
from customer_credit.auth.principal import Principal
from customer_credit.auth.resources import ALL_RESOURCES
from customer_credit.db.base import utcnow
from customer_credit.errors import InvalidInput, NotFound, Unauthorized
from customer_credit.stores.models import Store

TOKEN_ALGORITHM = "HS256"
TOKEN_AUDIENCE = "customer-credit"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    app_key: str
    app_token: str


def validate_resources(resources: list[str]) -> list[str]:
    unknown = [name for name in resources if name not in ALL_RESOURCES]
    if unknown or not resources:
        raise InvalidInput(
            f"unknown resources {unknown}; choose from {list(ALL_RESOURCES)}"
            if unknown
            else "at least one resource is needed"
        )
    return sorted(set(resources))


def create_key(session: Session, store: Store, resources: list[str], label: str = "") -> IssuedKey:
    app_key = f"vtexappkey-{store.name}-{secrets.token_hex(6).upper()}"
    app_token = secrets.token_urlsafe(48)
    session.add(
        ApiKey(
            store_id=store.id,
            app_key=app_key,
            token_sha256=hash_token(app_token),
            resources=validate_resources(resources),
            label=label,
        )
    )
    session.flush()
    return IssuedKey(app_key=app_key, app_token=app_token)


def list_keys(session: Session, store: Store | None = None) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.id)
    if store is not None:
        query = query.where(ApiKey.store_id == store.id)
    return list(session.scalars(query))


def revoke_key(session: Session, app_key: str, store_id: int | None = None) -> ApiKey:
    """Revokes at once; with `store_id`, only a key of that store (the console's operators)."""
    key = session.scalar(select(ApiKey).where(ApiKey.app_key == app_key))
    if key is None or (store_id is not None and key.store_id != store_id):
        raise NotFound(f"no key named {app_key}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    key_cache.forget(app_key)
    return key


# Authenticated keys are remembered this long in each server process, so that a request does
# not open a database transaction just to look its key up again (docs/performance.md). A key
# revoked through this process is forgotten at once; other processes stop accepting it within
# this time. Failed attempts are never remembered.
KEY_CACHE_TTL_S = 2.0
KEY_CACHE_MAX_ENTRIES = 10_000


class _KeyCache:
    def __init__(self, ttl_s: float, max_entries: int):
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str], tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, app_key: str, token_digest: str) -> Principal | None:
        entry = self._entries.get((app_key, token_digest))
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    def put(self, app_key: str, token_digest: str, principal: Principal) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[(app_key, token_digest)] = (time.monotonic() + self.ttl_s, principal)

    def forget(self, app_key: str | None = None) -> None:
        with self._lock:
            if app_key is None:
                self._entries.clear()
                return
            for cached in [cached for cached in self._entries if cached[0] == app_key]:
                del self._entries[cached]


key_cache = _KeyCache(KEY_CACHE_TTL_S, KEY_CACHE_MAX_ENTRIES)


def recently_authenticated(app_key: str, app_token: str) -> Principal | None:
    """The key's principal if it was authenticated in this process within KEY_CACHE_TTL_S,
    else None (then authenticate_key_cached asks the database). Touches no database, so an
    async caller may use it without a thread."""
    return key_cache.get(app_key, hash_token(app_token))


def authenticate_key_cached(database, app_key: str, app_token: str) -> Principal:
    """authenticate_key, answered from the cache while a success is recent."""
    digest = hash_token(app_token)
    principal = key_cache.get(app_key, digest)
    if principal is None:
        with database.read() as session:
            principal = authenticate_key(session, app_key, app_token)
        key_cache.put(app_key, digest, principal)
    return principal


def authenticate_key(session: Session, app_key: str, app_token: str) -> Principal:
    if "\x00" in app_key or "\x00" in app_token:
        # No key holds a NUL, and PostgreSQL cannot even compare text with one.
        raise Unauthorized("invalid app key or token", code="InvalidCredentials")
    key = session.scalar(select(ApiKey).where(ApiKey.app_key == app_key))
    # Compare against a dummy when the key is unknown, so timing tells nothing about key names.
    expected = key.token_sha256 if key is not None else hash_token("")
    token_matches = hmac.compare_digest(expected, hash_token(app_token))
    if key is None or not token_matches or key.revoked_at is not None:
        raise Unauthorized("invalid app key or token", code="InvalidCredentials")
    return Principal(store_id=key.store_id, name=key.app_key, resources=frozenset(key.resources))


def issue_user_token(secret: str, store: Store, email: str, resources: list[str], ttl: timedelta) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": email,
        "store": store.name,
        "sid": store.id,
        "resources": validate_resources(resources),
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "aud": TOKEN_AUDIENCE,
    }
    return jwt.encode(claims, secret, algorithm=TOKEN_ALGORITHM)


def authenticate_user_token(secret: str, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[TOKEN_ALGORITHM],
            audience=TOKEN_AUDIENCE,
            options={"require": ["exp", "sub", "sid"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the user token has expired", code="TokenExpired") from None
    except jwt.PyJWTError:
        raise Unauthorized("invalid user token", code="InvalidCredentials") from None
    return Principal(
        store_id=int(claims["sid"]),
        name=str(claims["sub"]),
        resources=frozenset(claims.get("resources") or []),
    )
