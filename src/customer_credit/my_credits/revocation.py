"""Ending My Credits links: by hand, or when what a link was issued for ends (its account
closes, or the holder it was issued to is removed). accounts.service calls the last two, so
this module depends on nothing but the link table (no import cycle)."""

from datetime import datetime
from typing import cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from customer_credit.db.base import utcnow
from customer_credit.my_credits.models import ACCOUNT_CLOSED, HOLDER_REMOVED, MyCreditsLink
from customer_credit.validation import normalize_email


def revoke_live_links(session: Session, *conditions, reason: str, now: datetime | None = None) -> int:
    """Marks every link matching `conditions` not revoked yet as revoked; returns how many.
    Expired ones too: whatever clock judges expiry later, they can never open again."""
    now = now or utcnow()
    # Session.execute is typed to return a Result; an UPDATE gives a CursorResult (rowcount).
    result = cast(
        CursorResult,
        session.execute(
            update(MyCreditsLink)
            .where(*conditions, MyCreditsLink.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
            .execution_options(synchronize_session="fetch")
        ),
    )
    return result.rowcount or 0


def revoke_account_links(session: Session, account, now: datetime | None = None) -> int:
    return revoke_live_links(session, MyCreditsLink.account_id == account.id, reason=ACCOUNT_CLOSED, now=now)


def revoke_holder_links(session: Session, holder, now: datetime | None = None) -> int:
    """The links of the holder's account issued to the holder's e-mail."""
    return revoke_live_links(
        session,
        MyCreditsLink.account_id == holder.account_id,
        MyCreditsLink.email == normalize_email(holder.email),
        reason=HOLDER_REMOVED,
        now=now,
    )
