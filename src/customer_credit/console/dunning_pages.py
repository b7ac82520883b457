"""Dunning levels in the console: their section of the settings page, one row per level (the
stored ones and blank rows to add more), saved together by POST /admin/settings/dunning. The
rules are credit_control.dunning's; a refusal names the row's field."""

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from customer_credit.auth.principal import Principal
from customer_credit.credit_control import dunning
from customer_credit.errors import DomainError, field_error
from customer_credit.money import MoneyError, from_cents, parse_amount, parse_rate, rate_from_units

BLANK_ROWS = 2
COLUMNS = ("days", "name", "timeOfDay", "fixed", "rate", "dueDays", "subject", "textBody")
# The service's names of a level's fields, as the form's columns.
SERVICE_FIELDS = {
    "days": "days",
    "name": "name",
    "timeOfDay": "timeOfDay",
    "lateFee.fixed": "fixed",
    "lateFee.rate": "rate",
    "lateFee.dueDays": "dueDays",
    "subject": "subject",
    "textBody": "textBody",
    "htmlBody": "textBody",
}
_LEVEL_FIELD = re.compile(r"^levels\[(\d+)\]\.(.+)$")


@dataclass(frozen=True)
class LevelSummary:
    """A stored level as the section's summary line shows it (dunning_settings.html words it in
    the store's language, with its money and rates): plain values, since the read session
    expires its objects before the page renders."""

    days: int
    time_of_day: str
    name: str
    own_email: bool
    fee_fixed: Decimal | None
    fee_rate: Decimal | None
    fee_due_days: int


def _summary_of(level) -> LevelSummary:
    return LevelSummary(
        days=level.days,
        time_of_day=level.time_of_day,
        name=level.name,
        own_email=bool(level.subject),
        fee_fixed=from_cents(level.fee_fixed_cents) if level.fee_fixed_cents else None,
        fee_rate=rate_from_units(level.fee_rate_units) if level.fee_rate_units else None,
        fee_due_days=level.fee_due_days,
    )


def field_name(row: int, column: str) -> str:
    return f"level-{row}-{column}"


def _stored_rows(levels) -> list[dict]:
    return [
        {
            "days": str(level.days),
            "name": level.name,
            "timeOfDay": level.time_of_day,
            "fixed": str(from_cents(level.fee_fixed_cents)) if level.fee_fixed_cents else "",
            "rate": str(rate_from_units(level.fee_rate_units).normalize()) if level.fee_rate_units else "",
            "dueDays": str(level.fee_due_days),
            "subject": level.subject or "",
            "textBody": level.text_body or "",
        }
        for level in levels
    ]


def posted_rows(form: FormData) -> list[dict]:
    rows = []
    for row in range(dunning.MAX_LEVELS):
        values = {}
        for column in COLUMNS:
            raw = form.get(field_name(row, column))
            limit = 20_000 if column == "textBody" else 500
            values[column] = raw.replace("\r\n", "\n").strip()[:limit] if isinstance(raw, str) else ""
        rows.append(values)
    return rows


def dunning_section(session: Session, store_id: int, *, rows: list[dict] | None = None, errors=None) -> dict:
    levels = dunning.get_levels(session, store_id)
    shown = rows if rows is not None else _stored_rows(levels)
    shown = [row for row in shown if any(row.values())]
    blank = dict.fromkeys(COLUMNS, "")
    count = min(dunning.MAX_LEVELS, len(shown) + BLANK_ROWS)
    return {
        "dunning_rows": shown + [dict(blank) for _ in range(count - len(shown))],
        "dunning_summaries": [_summary_of(level) for level in levels],
        "dunning_errors": errors or {},
    }


def _whole(row: int, column: str, raw: str, default: int | None = None) -> int:
    if raw == "" and default is not None:
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise field_error(field_name(row, column), "must be a whole number of days")
    return int(raw)


def _level_of(row: int, values: dict) -> dunning.LevelIn:
    try:
        fixed = parse_amount(values["fixed"] or "0")
    except MoneyError as error:
        raise field_error(field_name(row, "fixed"), str(error)) from None
    try:
        rate = parse_rate(values["rate"] or "0")
    except MoneyError as error:
        raise field_error(field_name(row, "rate"), str(error)) from None
    return dunning.LevelIn(
        days=_whole(row, "days", values["days"]),
        name=values["name"],
        time_of_day=values["timeOfDay"] or None,
        subject=values["subject"] or None,
        text_body=values["textBody"] or None,
        fee_fixed=fixed,
        fee_rate=rate,
        fee_due_days=_whole(row, "dueDays", values["dueDays"], dunning.DEFAULT_FEE_DUE_DAYS),
    )


def save_dunning_form(session: Session, principal: Principal, form: FormData, now: datetime) -> None:
    """Saves the rows that have anything typed in them, in the caller's write transaction."""
    filled = [(row, values) for row, values in enumerate(posted_rows(form)) if any(values.values())]
    levels = [_level_of(row, values) for row, values in filled]
    try:
        dunning.save_levels(session, principal, levels, now=now)
    except DomainError as error:
        for detail in error.details:
            if not isinstance(detail, dict):
                continue
            match = _LEVEL_FIELD.match(str(detail.get("field", "")))
            if match and int(match.group(1)) < len(filled):
                row = filled[int(match.group(1))][0]
                detail["field"] = field_name(row, SERVICE_FIELDS.get(match.group(2), "days"))
        raise
