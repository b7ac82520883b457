"""Stored, revocable "My Credits" links. A link opens one account for one e-mail (the
account's owner or one of its holders) until it expires or is revoked. The token is 32 random
bytes shown once, when the link is created; only its SHA-256 is stored, so the table gives
nobody a working link."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from customer_credit.accounts import service as accounts
from customer_credit.accounts.models import Account
from customer_credit.auth.principal import Principal
from customer_credit.db.base import utcnow
from customer_credit.errors import Conflict, DomainError, NotFound, Unauthorized, field_error
from customer_credit.my_credits.models import REVOKED_BY_HAND, MyCreditsLink
from customer_credit.my_credits.revocation import revoke_live_links
from customer_credit.settings import MY_CREDITS_LINK_MAX_HOURS, Settings
from customer_credit.stores import service as stores
from customer_credit.validation import clean_email, normalize_email

TOKEN_BYTES = 32
MAX_TTL = timedelta(hours=MY_CREDITS_LINK_MAX_HOURS)
MIN_TTL = timedelta(minutes=1)
MAX_LISTED = 200
ENTER_PATH = "/my-credits/enter"

ACTIVE, EXPIRED, REVOKED = "active", "expired", "revoked"


class LinkRevoked(DomainError):
    """The link existed but the store withdrew it (by hand, or its account or holder ended)."""

    status_code = 410
    code = "LinkRevoked"


@dataclass(frozen=True)
class Customer:
    """Who a My Credits request is for; `account_id` is set when a link (not a user token)
    brought them, and then only that account is shown."""

    store_id: int
    email: str
    expires_at: datetime | None
    account_id: int | None = None


@dataclass(frozen=True)
class LinkCustomer(Customer):
    """A customer a link brought: a link always expires."""

    expires_at: datetime


@dataclass(frozen=True)
class IssuedLink:
    link: MyCreditsLink
    token: str

    @property
    def expires_at(self) -> datetime:
        return self.link.expires_at

    def url(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}{ENTER_PATH}?token={self.token}"


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def default_ttl(settings: Settings) -> timedelta:
    return timedelta(hours=settings.my_credits_link_ttl_hours)


def check_recipient(session: Session, account: Account, email: str) -> None:
    """A link goes only to the account's owner or one of its current holders."""
    email = normalize_email(email)
    if email == normalize_email(account.email):
        return
    if any(normalize_email(holder.email) == email for holder in accounts.holders_of(session, account)):
        return
    message = "must be the account owner's or one of its holders' e-mail"
    raise Conflict(
        f"email: {message}", code="NotOwnerOrHolder", details=[{"field": "email", "message": message}]
    )


def issue_link(
    session: Session,
    principal: Principal,
    account_public_id: str,
    email: str,
    ttl: timedelta,
    *,
    now: datetime | None = None,
) -> IssuedLink:
    """A new link to the account for its owner or a holder; refused while the store has My
    Credits off. The account row is locked, so a link never outlives a concurrent close or
    holder removal (both revoke under the same lock)."""
    email = clean_email("email", email)
    if not MIN_TTL <= ttl <= MAX_TTL:
        raise field_error("ttl", f"must be between 1 minute and {MY_CREDITS_LINK_MAX_HOURS} hours")
    if not stores.get_config(session, principal.store_id).my_credits_enabled:
        raise Conflict(
            "My Credits is turned off in this store's configuration (myCreditsEnabled)",
            code="MyCreditsDisabled",
        )
    account = accounts.lock_open_account(session, principal, account_public_id)
    check_recipient(session, account, email)
    now = now or utcnow()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = MyCreditsLink(
        public_id=secrets.token_hex(16),
        store_id=principal.store_id,
        account_id=account.id,
        token_sha256=token_sha256(token),
        email=email,
        created_by=principal.name[:254],
        created_at=now,
        expires_at=(now + ttl).replace(microsecond=0),
    )
    session.add(link)
    session.flush()
    return IssuedLink(link=link, token=token)


def read_link(session: Session, token: str, *, now: datetime | None = None) -> LinkCustomer:
    """The customer a token names, while its link is neither revoked nor expired."""
    if not token or len(token) > 200:
        raise Unauthorized("this link is not valid", code="InvalidLink")
    link = session.scalar(select(MyCreditsLink).where(MyCreditsLink.token_sha256 == token_sha256(token)))
    if link is None:
        raise Unauthorized("this link is not valid", code="InvalidLink")
    if link.revoked_at is not None:
        raise LinkRevoked("this link was withdrawn by the store; ask it for a new one")
    if link.expires_at <= (now or utcnow()):
        raise Unauthorized("this link has expired; ask the store for a new one", code="LinkExpired")
    return LinkCustomer(
        store_id=link.store_id, email=link.email, expires_at=link.expires_at, account_id=link.account_id
    )


def status_of(link: MyCreditsLink, now: datetime | None = None) -> str:
    if link.revoked_at is not None:
        return REVOKED
    return EXPIRED if link.expires_at <= (now or utcnow()) else ACTIVE


def list_links(session: Session, principal: Principal, account_public_id: str) -> list[MyCreditsLink]:
    """The account's links, newest first (revoked and expired ones too, for the record)."""
    account = accounts.get_account(session, principal, account_public_id)
    return list(
        session.scalars(
            select(MyCreditsLink)
            .where(MyCreditsLink.store_id == principal.store_id, MyCreditsLink.account_id == account.id)
            .order_by(MyCreditsLink.created_at.desc(), MyCreditsLink.id.desc())
            .limit(MAX_LISTED)
        )
    )


def revoke_link(
    session: Session,
    principal: Principal,
    account_public_id: str,
    link_id: str,
    *,
    now: datetime | None = None,
) -> MyCreditsLink:
    """Revokes one link of the account at once; revoking an ended link changes nothing."""
    account = accounts.get_account(session, principal, account_public_id)
    link = session.scalar(
        select(MyCreditsLink).where(
            MyCreditsLink.store_id == principal.store_id,
            MyCreditsLink.account_id == account.id,
            MyCreditsLink.public_id == link_id,
        )
    )
    if link is None:
        raise NotFound(f"no My Credits link {link_id} on account {account_public_id}", code="LinkNotFound")
    revoke_live_links(session, MyCreditsLink.id == link.id, reason=REVOKED_BY_HAND, now=now)
    return link
