"""Signed, expiring "My Credits" links. The token names the store and the customer's e-mail and
carries its expiry; it is signed with the service's secret key (itsdangerous, HMAC-SHA256),
so nothing is stored and nobody can change what it names."""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from customer_credit.errors import Conflict, Unauthorized, field_error
from customer_credit.stores import service as stores
from customer_credit.validation import clean_email

SALT = "customer-credit.my-credits.link"
DEFAULT_TTL = timedelta(days=7)
MAX_TTL = timedelta(days=30)
MIN_TTL = timedelta(seconds=1)
ENTER_PATH = "/my-credits/enter"


@dataclass(frozen=True)
class Customer:
    store_id: int
    email: str
    expires_at: datetime | None


@dataclass(frozen=True)
class IssuedLink:
    token: str
    expires_at: datetime

    def url(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}{ENTER_PATH}?token={self.token}"


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def issue_link(
    session: Session, secret: str, store_id: int, email: str, ttl: timedelta = DEFAULT_TTL,
    *, now: datetime | None = None,
) -> IssuedLink:
    """A link for the customer with this e-mail; refused while the store has My Credits off."""
    email = clean_email("email", email)
    if not MIN_TTL <= ttl <= MAX_TTL:
        raise field_error("ttl", f"must be between 1 second and {MAX_TTL.days} days")
    if not stores.get_config(session, store_id).my_credits_enabled:
        raise Conflict(
            "My Credits is turned off in this store's configuration (myCreditsEnabled)",
            code="MyCreditsDisabled",
        )
    expires_at = (now or datetime.now(timezone.utc)) + ttl
    token = _serializer(secret).dumps({"s": store_id, "e": email, "x": int(expires_at.timestamp())})
    return IssuedLink(token=token, expires_at=expires_at.replace(microsecond=0))


def read_link(secret: str, token: str, *, now: datetime | None = None) -> Customer:
    if not token or len(token) > 2000:
        raise Unauthorized("this link is not valid", code="InvalidLink")
    try:
        claims = _serializer(secret).loads(token)
        store_id, email, expires = int(claims["s"]), str(claims["e"]), int(claims["x"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise Unauthorized("this link is not valid", code="InvalidLink") from None
    expires_at = datetime.fromtimestamp(expires, timezone.utc)
    if expires_at <= (now or datetime.now(timezone.utc)):
        raise Unauthorized("this link has expired; ask the store for a new one", code="LinkExpired")
    return Customer(store_id=store_id, email=email, expires_at=expires_at)
