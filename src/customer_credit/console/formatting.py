"""How a store shows amounts and dates: its locale, currency and time zone (Babel, zoneinfo)."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_skeleton
from babel.numbers import format_currency, format_decimal, format_percent, list_currencies

from customer_credit.documents.logo import logo_path
from customer_credit.errors import field_error
from customer_credit.money import from_cents
from customer_credit.stores.models import StoreConfig

DEFAULT_LOCALE = "en_US"
DEFAULT_CURRENCY = "USD"
DEFAULT_TIMEZONE = "UTC"


def clean_locale(raw: str) -> str:
    text = (raw or "").strip().replace("-", "_")
    if not text or len(text) > 35:
        raise field_error("locale", "must be a locale such as en_US or pt_BR")
    try:
        return str(Locale.parse(text))
    except (UnknownLocaleError, ValueError, TypeError):
        raise field_error("locale", "must be a locale such as en_US or pt_BR") from None


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def clean_currency(raw: str) -> str:
    text = (raw or "").strip().upper()
    if text not in _currencies():
        raise field_error("currency", "must be an ISO 4217 code such as USD, EUR or BRL")
    return text


@lru_cache(maxsize=1)
def timezones() -> list[str]:
    return sorted(available_timezones() | {"UTC"})


def clean_timezone(raw: str) -> str:
    text = (raw or "").strip()
    if not text or len(text) > 64 or text not in set(timezones()):
        raise field_error("timezone", "must be an IANA time zone such as America/Sao_Paulo or UTC")
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise field_error("timezone", "is not known on this machine") from None
    return text


@dataclass(frozen=True)
class Presentation:
    locale: str = DEFAULT_LOCALE
    currency: str = DEFAULT_CURRENCY
    timezone: str = DEFAULT_TIMEZONE
    display_name: str | None = None
    logo_url: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def money(self, value: Decimal | int | None) -> str:
        """An amount (Decimal) or cents (int) in the store's currency and locale."""
        if value is None:
            return ""
        amount = from_cents(value) if isinstance(value, int) else value
        return format_currency(amount, self.currency, locale=self.locale)

    def rate(self, value: Decimal | None) -> str:
        if value is None:
            return ""
        return format_percent(value, "#,##0.##%", locale=self.locale)

    def count(self, value: int | None) -> str:
        """A count with the locale's digit grouping: 6,000 (en_US), 6.000 (pt_BR)."""
        return "" if value is None else format_decimal(value, "#,##0", locale=self.locale)

    def month(self, value: date) -> str:
        """A month as a chart labels it: Dec 2026, dez. de 2026."""
        return format_skeleton("yMMM", value, locale=self.locale)

    def moment(self, value: datetime | None) -> str:
        if value is None:
            return ""
        return format_datetime(value, "medium", tzinfo=self.zone, locale=self.locale)

    def day(self, value: datetime | None) -> str:
        if value is None:
            return ""
        return format_date(value.astimezone(self.zone).date(), "medium", locale=self.locale)

    def local_day(self, value: datetime) -> date:
        return value.astimezone(self.zone).date()

    def day_start(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.zone)

    def day_end(self, day: date) -> datetime:
        """The last representable moment of `day` in the store's zone (an inclusive bound)."""
        return self.day_start(day + timedelta(days=1)) - timedelta(microseconds=1)

    def month_start(self, now: datetime) -> datetime:
        local = now.astimezone(self.zone)
        return datetime.combine(local.date().replace(day=1), time.min, tzinfo=self.zone)


def presentation_of(config: StoreConfig) -> Presentation:
    """The store's choices, falling back to the defaults for anything missing or no longer
    valid on this machine (a time zone removed from the system database, say)."""
    locale = getattr(config, "locale", None) or DEFAULT_LOCALE
    currency = getattr(config, "currency", None) or DEFAULT_CURRENCY
    zone = getattr(config, "timezone", None) or DEFAULT_TIMEZONE
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError, TypeError):
        locale = DEFAULT_LOCALE
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = DEFAULT_TIMEZONE
    display_name = getattr(config, "display_name", None) or None
    return Presentation(
        locale=locale, currency=currency, timezone=zone, display_name=display_name, logo_url=logo_path(config)
    )
