"""Parsing dates and datetimes from query strings and bodies (ISO 8601, UTC when no zone), and
the store's time zone, in which its calendar days are counted."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from customer_credit.errors import field_error

UTC_ZONE = ZoneInfo("UTC")


def store_zone(config) -> ZoneInfo:
    """The time zone of a store (StoreConfig.timezone, chosen in the console settings); UTC when
    unset or no longer known on this machine, so a bad value never breaks a page or a job."""
    name = getattr(config, "timezone", None)
    if not name:
        return UTC_ZONE
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return UTC_ZONE


def parse_datetime(field: str, raw: str) -> datetime:
    text = raw.strip()
    if len(text) > 40:
        raise field_error(field, "must be an ISO 8601 date or date-time")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise field_error(field, "must be an ISO 8601 date or date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise field_error(field, "is out of range") from None


def _is_date_only(text: str) -> bool:
    return len(text.strip()) == 10


def parse_bound(field: str, raw: str | None, *, upper: bool) -> tuple[datetime, bool] | None:
    """A range bound. A date alone covers its whole day: as an upper bound it becomes the next
    midnight, exclusive. Returns (moment, inclusive)."""
    if raw is None or raw == "":
        return None
    if _is_date_only(raw):
        try:
            day = date.fromisoformat(raw.strip())
        except ValueError:
            raise field_error(field, "must be an ISO 8601 date or date-time") from None
        start = datetime.combine(day, time.min, tzinfo=UTC)
        if upper:
            if day == date.max:
                return start, True
            return start + timedelta(days=1), False
        return start, True
    return parse_datetime(field, raw), True


def timestamp(moment: datetime | None) -> str | None:
    """The wire form of a moment: UTC, microseconds, 'Z' (a moment in another zone is converted;
    a naive one is taken as UTC, as the database gives them)."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
