"""The overdue policy: a store setting that blocks, or only flags, new pre-authorizations on
accounts with an invoice overdue by more than N days, and the per-account overrides an operator
sets to let one account buy despite it, until a moment.

It applies wherever a hold is created (transactions.service.create_hold: the API's holds and
the checkout connector alike), never to changes of a live hold. Days overdue are those of
invoices.overdue_days: calendar days in the store's time zone, counted at the caller's `now`
(never the wall clock here). An override suspends the policy for its account: no block and no
flag while it lasts. Overrides are never deleted; a revoked or replaced one keeps who ended it
and when, so the history says who allowed what."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from customer_credit import events
from customer_credit.accounts import service as accounts
from customer_credit.accounts.models import Account
from customer_credit.api.wire import dumps, timestamp
from customer_credit.auth.principal import Principal
from customer_credit.credit_control.models import (
    POLICY_BLOCK,
    POLICY_FLAG,
    POLICY_MODES,
    POLICY_OFF,
    CreditControlSettings,
    OverdueOverride,
)
from customer_credit.dates import store_zone
from customer_credit.errors import Conflict, NotFound, field_error
from customer_credit.events.models import Event
from customer_credit.events.outbox import new_event_id
from customer_credit.invoices.models import Invoice
from customer_credit.invoices.overdue_days import days_overdue, overdue_condition
from customer_credit.stores import service as stores
from customer_credit.validation import clean_text

MAX_POLICY_DAYS = 3650  # the table's check constraint
MAX_OVERRIDE_AHEAD = timedelta(days=365)
MAX_REASON = 500
OVERDUE_INVOICES = "OverdueInvoices"
OVERRIDE_NOT_FOUND = "OverrideNotFound"

ACTIVE = "active"
REVOKED = "revoked"
LAPSED = "lapsed"


# --- the store's policy --------------------------------------------------------------------


def get_settings(session: Session, store_id: int, *, lock: bool = False) -> CreditControlSettings:
    """The stored settings, or the defaults (policy off, 0 days; not saved)."""
    settings = session.get(CreditControlSettings, store_id, with_for_update=lock)
    if settings is not None:
        return settings
    return CreditControlSettings(
        store_id=store_id, overdue_policy=POLICY_OFF, overdue_policy_days=0, updated_by=None
    )


def _check_mode(mode: str) -> str:
    cleaned = mode.strip().lower()
    if cleaned not in POLICY_MODES:
        raise field_error("mode", f"must be one of {', '.join(POLICY_MODES)}")
    return cleaned


def _check_days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_POLICY_DAYS:
        raise field_error("days", f"must be a whole number between 0 and {MAX_POLICY_DAYS}")
    return days


def save_settings(
    session: Session,
    principal: Principal,
    mode: str | None = None,
    days: int | None = None,
    *,
    now: datetime,
) -> CreditControlSettings:
    """Changes what is given (None keeps it) and records who changed it, with a
    `store.overdue_policy_changed` event. Both fields are checked before anything changes; a
    save that changes nothing writes nothing."""
    new_mode = None if mode is None else _check_mode(mode)
    new_days = None if days is None else _check_days(days)
    settings = session.get(CreditControlSettings, principal.store_id, with_for_update=True)
    before = get_settings(session, principal.store_id) if settings is None else settings
    changes: dict = {}
    if new_mode is not None and new_mode != before.overdue_policy:
        changes["mode"] = {"from": before.overdue_policy, "to": new_mode}
    if new_days is not None and new_days != before.overdue_policy_days:
        changes["days"] = {"from": before.overdue_policy_days, "to": new_days}
    if not changes:
        return before
    if settings is None:
        settings = before
        session.add(settings)
    if "mode" in changes:
        settings.overdue_policy = changes["mode"]["to"]
    if "days" in changes:
        settings.overdue_policy_days = changes["days"]["to"]
    settings.updated_by = principal.name
    settings.updated_at = now
    session.flush()
    record_store_event(
        session,
        principal.store_id,
        events.OVERDUE_POLICY_CHANGED,
        {"overduePolicy": policy_wire(settings), "changes": changes, "ledgerEntries": []},
        at=now,
    )
    return settings


def policy_wire(settings: CreditControlSettings) -> dict:
    return {
        "mode": settings.overdue_policy,
        "days": settings.overdue_policy_days,
        "updatedBy": settings.updated_by,
        "updatedAt": timestamp(settings.updated_at) if settings.updated_by is not None else None,
    }


def describe_policy(settings: CreditControlSettings) -> str:
    """One line for people (the CLI, the console)."""
    days = settings.overdue_policy_days
    after = f"an invoice overdue by more than {days} day{'s' if days != 1 else ''}"
    if settings.overdue_policy == POLICY_BLOCK:
        return f"block: new holds are refused on accounts with {after}"
    if settings.overdue_policy == POLICY_FLAG:
        return f"flag: new holds on accounts with {after} go through, flagged"
    return "off: overdue invoices do not affect new holds"


def record_store_event(session: Session, store_id: int, event_type: str, data: dict, *, at: datetime) -> str:
    """An event of the store rather than of one account (events.record needs an account). The
    same outbox row and body shape, without `data.account`; webhooks order it with the other
    account-less events of the store."""
    public_id = new_event_id()
    body = dumps({"id": public_id, "type": event_type, "timestamp": timestamp(at), "data": data})
    session.connection().execute(
        insert(cast(Table, Event.__table__)),
        {
            "public_id": public_id,
            "store_id": store_id,
            "account_id": None,
            "type": event_type,
            "occurred_at": at,
            "body": body.decode(),
        },
    )
    return public_id


# --- what an account owes late --------------------------------------------------------------


def oldest_overdue_days(session: Session, account: Account, now: datetime) -> int | None:
    """Days overdue (invoices.overdue_days) of the account's oldest Opened, past-due invoice;
    None when it has none. An invoice due earlier today is overdue by 0 days."""
    oldest_due = session.scalar(
        select(Invoice.due_at)
        .where(Invoice.store_id == account.store_id, Invoice.account_id == account.id, overdue_condition(now))
        .order_by(Invoice.due_at)
        .limit(1)
    )
    if oldest_due is None:
        return None
    return days_overdue(oldest_due, now, store_zone(stores.get_config(session, account.store_id)))


# --- overrides ------------------------------------------------------------------------------


def active_override(session: Session, account: Account, now: datetime) -> OverdueOverride | None:
    """The override that lets the account buy at `now`: not revoked and not yet lapsed."""
    return session.scalar(
        select(OverdueOverride)
        .where(
            OverdueOverride.account_id == account.id,
            OverdueOverride.revoked_at.is_(None),
            OverdueOverride.allowed_until > now,
        )
        .order_by(OverdueOverride.created_at.desc(), OverdueOverride.id.desc())
        .limit(1)
    )


def status_of(override: OverdueOverride, now: datetime) -> str:
    if override.revoked_at is not None:
        return REVOKED
    return ACTIVE if override.allowed_until > now else LAPSED


def override_wire(override: OverdueOverride, now: datetime) -> dict:
    return {
        "until": timestamp(override.allowed_until),
        "reason": override.reason,
        "status": status_of(override, now),
        "setBy": override.set_by,
        "createdAt": timestamp(override.created_at),
        "revokedBy": override.revoked_by,
        "revokedAt": timestamp(override.revoked_at),
    }


def _check_until(until: datetime, now: datetime) -> datetime:
    if until.tzinfo is None:
        raise field_error("until", "must name its time zone (or be UTC)")
    if until <= now:
        raise field_error("until", "must be in the future")
    if until > now + MAX_OVERRIDE_AHEAD:
        raise field_error("until", f"must be at most {MAX_OVERRIDE_AHEAD.days} days ahead")
    return until


def _check_reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    return clean_text("reason", reason.strip(), max_length=MAX_REASON, allow_newlines=False) or None


def _revoke(override: OverdueOverride, principal: Principal, now: datetime) -> None:
    override.revoked_by = principal.name
    override.revoked_at = now


def _override_changes(override: OverdueOverride, now: datetime) -> dict:
    return {"overdueOverride": override_wire(override, now)}


def set_override(
    session: Session,
    principal: Principal,
    account_public_id: str,
    until: datetime,
    reason: str | None = None,
    *,
    now: datetime,
) -> OverdueOverride:
    """Lets the open account take new holds despite the policy until `until` (in the future,
    at most 365 days ahead). An active override is replaced: it is revoked by the same
    operator at the same moment. The account row is locked, so two operators setting one at
    once leave one active override."""
    until = _check_until(until, now)
    reason = _check_reason(reason)
    account = accounts.lock_open_account(session, principal, account_public_id)
    replaced = active_override(session, account, now)
    if replaced is not None:
        _revoke(replaced, principal, now)
    override = OverdueOverride(
        store_id=account.store_id,
        account_id=account.id,
        allowed_until=until,
        reason=reason,
        set_by=principal.name,
        created_at=now,
    )
    session.add(override)
    session.flush()
    changes = _override_changes(override, now)
    if replaced is not None:
        changes["replaced"] = override_wire(replaced, now)
    events.record(
        session, events.OVERDUE_OVERRIDE_SET, account=account, changes=changes, ledger=False, at=now
    )
    return override


def revoke_override(
    session: Session, principal: Principal, account_public_id: str, *, now: datetime
) -> OverdueOverride:
    """Ends the account's active override at once (404 OverrideNotFound when none is active)."""
    account = accounts.lock_open_account(session, principal, account_public_id)
    override = active_override(session, account, now)
    if override is None:
        raise NotFound(f"account {account_public_id} has no active overdue override", code=OVERRIDE_NOT_FOUND)
    _revoke(override, principal, now)
    session.flush()
    events.record(
        session,
        events.OVERDUE_OVERRIDE_REVOKED,
        account=account,
        changes=_override_changes(override, now),
        ledger=False,
        at=now,
    )
    return override


def overrides_of(session: Session, account: Account) -> list[OverdueOverride]:
    return list(
        session.scalars(
            select(OverdueOverride)
            .where(OverdueOverride.account_id == account.id)
            .order_by(OverdueOverride.created_at.desc(), OverdueOverride.id.desc())
        )
    )


def list_overrides(session: Session, principal: Principal, account_public_id: str) -> list[OverdueOverride]:
    """Every override of the account, newest first (revoked and lapsed ones too, for the
    record); a closed account's too."""
    return overrides_of(session, accounts.get_account(session, principal, account_public_id))


# --- the check on a new hold ----------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """How the policy sees one account at one moment (for the console)."""

    mode: str
    days: int
    oldest_overdue_days: int | None
    override: OverdueOverride | None

    @property
    def over_the_limit(self) -> bool:
        return self.oldest_overdue_days is not None and self.oldest_overdue_days > self.days

    @property
    def verdict(self) -> str | None:
        """What the policy does to a new hold now: "block", "flag" or None (goes through)."""
        if self.mode == POLICY_OFF or not self.over_the_limit or self.override is not None:
            return None
        return self.mode


def standing_of(session: Session, account: Account, now: datetime) -> Standing:
    settings = get_settings(session, account.store_id)
    return Standing(
        mode=settings.overdue_policy,
        days=settings.overdue_policy_days,
        oldest_overdue_days=oldest_overdue_days(session, account, now),
        override=active_override(session, account, now),
    )


def check_new_hold(session: Session, principal: Principal, account: Account, now: datetime) -> int | None:
    """Called for every new hold, with the account locked: with the policy off, None at the
    cost of one primary-key read. Otherwise, when the account has an invoice overdue by more
    than N days and no active override: "block" raises Conflict OverdueInvoices, "flag"
    returns the days overdue (the hold goes through, flagged). None when the hold is fine."""
    settings = get_settings(session, principal.store_id)
    if settings.overdue_policy == POLICY_OFF:
        return None
    days = oldest_overdue_days(session, account, now)
    limit = settings.overdue_policy_days
    if days is None or days <= limit or active_override(session, account, now) is not None:
        return None
    if settings.overdue_policy == POLICY_BLOCK:
        raise Conflict(
            f"account {account.public_id} has an invoice {days} day{'s' if days != 1 else ''} overdue; "
            f"the store refuses new purchases on credit beyond {limit} day{'s' if limit != 1 else ''} "
            "overdue (an operator can set an override for the account)",
            code=OVERDUE_INVOICES,
        )
    return days
