"""An account's trust level: an operator's judgement of the customer, `good`, `normal` (every
account starts there) or `watch`. It is shown with the account (the API's `trustLevel`, the
console, the accounts export) and changes nothing else by itself.

Who changed it, when and why is kept in the `account.trust_level_changed` events rather than
on the account row: the console reads the account's latest such event. Setting the level the
account already has writes nothing. PostgreSQL's CHECK constraint holds the three values; the
migration could not add it on SQLite, so `check_level` is what keeps them there."""

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from customer_credit import events
from customer_credit.accounts import service as accounts
from customer_credit.accounts.models import Account
from customer_credit.auth.principal import Principal
from customer_credit.errors import field_error
from customer_credit.events.models import Event
from customer_credit.validation import clean_text

GOOD = "good"
NORMAL = "normal"
WATCH = "watch"
TRUST_LEVELS = (GOOD, NORMAL, WATCH)
MAX_REASON = 500
FIELD = "trustLevel"


@dataclass(frozen=True)
class TrustChange:
    """One change of an account's trust level, as its event tells it."""

    from_level: str
    to_level: str
    by: str
    reason: str | None
    at: datetime


def check_level(level: object, *, field: str = FIELD) -> str:
    """The level, in the form stored (surrounding spaces and capitals forgiven); anything else is
    a 400 naming `field`."""
    if not isinstance(level, str) or level.strip().lower() not in TRUST_LEVELS:
        raise field_error(field, f"must be one of {', '.join(TRUST_LEVELS)}")
    return level.strip().lower()


def _check_reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    return clean_text("reason", reason.strip(), max_length=MAX_REASON, allow_newlines=False) or None


def set_trust_level(
    session: Session,
    principal: Principal,
    account_public_id: str,
    level: object,
    reason: str | None = None,
    *,
    now: datetime,
) -> tuple[Account, bool]:
    """Sets the open account's trust level; returns the account and whether the level changed.
    A change touches the account's updatedAt and records `account.trust_level_changed` with
    from, to, by (the principal's name) and the reason; the same level again changes nothing
    and records nothing (its reason is not kept). The input is checked before the account is
    looked up, so a bad level is a 400 even for an unknown account."""
    new_level = check_level(level)
    cleaned_reason = _check_reason(reason)
    account = accounts.lock_open_account(session, principal, account_public_id)
    old_level = account.trust_level
    if new_level == old_level:
        return account, False
    account.trust_level = new_level
    account.updated_at = now
    session.flush()
    change = {"from": old_level, "to": new_level, "by": principal.name, "reason": cleaned_reason}
    events.record(
        session, events.TRUST_LEVEL_CHANGED, account=account, changes={FIELD: change}, ledger=False, at=now
    )
    return account, True


def last_change(session: Session, account: Account) -> TrustChange | None:
    """The account's latest trust level change, from its events; None if it never changed.
    The events table has no index on the account, so this reads the store's events newest
    first until it finds one: for one account page, not for lists."""
    row = session.execute(
        select(Event.occurred_at, Event.body)
        .where(
            Event.store_id == account.store_id,
            Event.account_id == account.id,
            Event.type == events.TRUST_LEVEL_CHANGED,
        )
        .order_by(Event.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    occurred_at, body = row
    change = json.loads(body)["data"]["changes"][FIELD]
    return TrustChange(
        from_level=change["from"],
        to_level=change["to"],
        by=change["by"],
        reason=change.get("reason"),
        at=occurred_at,
    )
