"""The overdue policy in the console: its section of the settings page (mode and days, a form of
its own) and the override section of the account page (the active override with who set it,
until when and why; its history; the set and revoke forms for admins). The rules are
credit_control.overdue_policy's; settings_pages and accounts_pages mount the forms."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from customer_credit.accounts.models import Account
from customer_credit.auth.principal import Principal
from customer_credit.credit_control import overdue_policy
from customer_credit.credit_control.models import POLICY_MODES, CreditControlSettings, OverdueOverride
from customer_credit.dates import parse_datetime, store_zone
from customer_credit.errors import DomainError, field_error
from customer_credit.i18n import N_
from customer_credit.i18n import gettext as _
from customer_credit.stores import service as stores

# Translated where the settings page shows them (policy_section).
MODE_TEXTS = {
    "off": N_("Off: overdue invoices do not affect new purchases"),
    "flag": N_("Flag: new purchases go through, flagged with the days overdue"),
    "block": N_("Block: new purchases are refused"),
}
# The form's fields, as the service's errors name them.
POLICY_FIELDS = {"mode": "overduePolicyMode", "days": "overduePolicyDays"}
HISTORY_SIZE = 20


def _form_text(form: FormData, name: str, max_length: int) -> str:
    value = form.get(name)
    return value.strip()[:max_length] if isinstance(value, str) else ""


# --- the settings page ----------------------------------------------------------------------


def _stored_policy_values(settings: CreditControlSettings) -> dict:
    return {
        "overduePolicyMode": settings.overdue_policy,
        "overduePolicyDays": str(settings.overdue_policy_days),
    }


def posted_policy_values(form: FormData) -> dict:
    return {
        "overduePolicyMode": _form_text(form, "overduePolicyMode", 20),
        "overduePolicyDays": _form_text(form, "overduePolicyDays", 20),
    }


def policy_section(session: Session, store_id: int, *, values: dict | None = None, errors=None) -> dict:
    """The settings page's context for the section: the stored policy, or what was typed."""
    settings = overdue_policy.get_settings(session, store_id)
    return {
        "overdue_policy": values if values is not None else _stored_policy_values(settings),
        # Plain values: the read session expires its objects when it ends, before the page renders.
        "overdue_policy_changed_by": settings.updated_by,
        "overdue_policy_changed_at": settings.updated_at if settings.updated_by is not None else None,
        "overdue_policy_errors": errors or {},
        "overdue_modes": [(mode, _(MODE_TEXTS[mode])) for mode in POLICY_MODES],
    }


def save_policy_form(session: Session, principal: Principal, form: FormData, now: datetime) -> None:
    """Saves the posted section in the caller's write transaction; a refusal names the form's
    field."""
    values = posted_policy_values(form)
    raw_days = values["overduePolicyDays"]
    if not (raw_days.isascii() and raw_days.isdigit()):
        raise field_error(POLICY_FIELDS["days"], "must be a whole number of days, 0 or more")
    try:
        overdue_policy.save_settings(session, principal, values["overduePolicyMode"], int(raw_days), now=now)
    except DomainError as error:
        for detail in error.details:
            if isinstance(detail, dict) and detail.get("field") in POLICY_FIELDS:
                detail["field"] = POLICY_FIELDS[detail["field"]]
        raise


# --- the account page -----------------------------------------------------------------------


def override_section(session: Session, account: Account, now: datetime) -> dict:
    """The account page's context: the policy's view of the account now, and the history."""
    history = overdue_policy.overrides_of(session, account)
    return {
        "overdue": overdue_policy.standing_of(session, account, now),
        "overdue_history": [(row, overdue_policy.status_of(row, now)) for row in history[:HISTORY_SIZE]],
        "overdue_history_more": len(history) > HISTORY_SIZE,
    }


def _local_until(raw: str, zone: ZoneInfo) -> datetime:
    """What an operator types, in the store's time zone: a date-time (a browser's
    datetime-local field), or a date alone, which lasts to the end of that day."""
    text = raw.strip()
    if not text:
        raise field_error("until", "is required")
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise field_error("until", "must be a date or a date and time") from None
        return datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise field_error("until", "must be a date or a date and time") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=zone)
    return parse_datetime("until", text)


def set_override_form(
    session: Session, principal: Principal, public_id: str, form: FormData, now: datetime
) -> OverdueOverride:
    zone = store_zone(stores.get_config(session, principal.store_id))
    until = _local_until(_form_text(form, "until", 40), zone)
    # Longer than the service's limit, so that a reason too long is refused, not cut short.
    reason = _form_text(form, "reason", 1000) or None
    return overdue_policy.set_override(session, principal, public_id, until, reason, now=now)
