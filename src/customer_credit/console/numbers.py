"""Numbers typed as the console shows them: `25,000.00` in en_US, `22.600,00` in pt_BR, with
or without the currency (`R$ 22.500,00`), and rates as percentages (`5%`, `2,5%`).

Parsing is Babel's strict one (a wrong grouping such as `1,2,3` is refused), after checking the
text holds only ASCII digits and the locale's symbols (Babel alone would take `1e5` or other
scripts' digits). Plain decimal notation (`1500.00`, what the API and exports write) is also
taken when the locale's own reading refuses it. Errors are MoneyError with a message in the
label's words; the range checks are those of customer_credit.money.
"""

import re
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    NumberFormatError,
    format_decimal,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    list_currencies,
    parse_decimal,
)

from customer_credit import money
from customer_credit.i18n import N_
from customer_credit.i18n import gettext as _
from customer_credit.money import MoneyError

DEFAULT_LOCALE = "en_US"
# Spaces a browser or a spreadsheet may leave around or inside a number.
_SPACES = re.compile(r"[\s\u00a0\u202f\u2007]+")
_PLAIN = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_PERCENT = Decimal(100)
_PERCENT_UNIT = Decimal("0.01")


class NumberError(MoneyError):
    """Text that is not a number in the locale (or out of range); the message says why."""


def _locale_name(locale: str | None) -> str:
    try:
        return str(Locale.parse(locale or DEFAULT_LOCALE))
    except (UnknownLocaleError, ValueError, TypeError):
        return DEFAULT_LOCALE


@lru_cache(maxsize=32)
def _symbols(locale: str) -> tuple[str, str]:
    """(decimal symbol, group symbol), a space-like group symbol as a plain space."""
    group = get_group_symbol(locale)
    if _SPACES.fullmatch(group):
        group = " "
    return get_decimal_symbol(locale), group


@lru_cache(maxsize=32)
def _currency_marks(locale: str) -> frozenset[str]:
    """What may stand before or after an amount: ISO codes and the locale's symbols (R$, US$, €)."""
    codes = set(list_currencies())
    marks = {code.upper() for code in codes} | {"$"}
    for code in codes:
        symbol = get_currency_symbol(code, locale=locale)
        if symbol and not any(char.isdigit() for char in symbol):
            marks.add(symbol.upper())
    return frozenset(marks)


def amount_text(value: Decimal, locale: str | None) -> str:
    """An amount as a form field shows it for editing: the locale's notation, no currency."""
    return format_decimal(value, "#,##0.00", locale=_locale_name(locale))


def amount_example(locale: str | None) -> str:
    return amount_text(Decimal("25000.00"), locale)


def rate_example(locale: str | None) -> str:
    return format_decimal(Decimal("2.5"), "#,##0.##", locale=_locale_name(locale)) + "%"


# customer_credit.money's refusals, in the catalogs so that the console shows them translated.
MONEY_REFUSALS = (
    N_("must be a number"),
    N_("must be a finite number"),
    N_("must have at most 2 decimal places"),
    N_("must not be negative"),
    N_("must be greater than 0"),
    N_("is too large"),
)


def _words(label: str | None, message: str, **values: str) -> str:
    """The refusal in the active language, after the field's label (already translated)."""
    message = _(message) % values if values else _(message)
    return f"{label} {message}" if label else message


def _strip_currency(text: str, locale: str) -> str | None:
    """The text without one currency mark before or after it; None for any other letters."""
    found = re.fullmatch(r"([+-]?)\s*([^\d\s.,+-]*)\s*([+-]?[\d.,\s]*?)\s*([^\d\s.,+-]*)", text)
    if not found:
        return None
    sign, before, number, after = found.groups()
    marks = _currency_marks(locale)
    if (before and after) or any(mark and mark.upper() not in marks for mark in (before, after)):
        return None
    if sign and number.startswith(("+", "-")):
        return None
    return sign + number


def parse_number(text: str | None, locale: str | None) -> Decimal | None:
    """The number `text` writes in the locale (no currency, no percent sign), or None."""
    name = _locale_name(locale)
    decimal_symbol, group_symbol = _symbols(name)
    cleaned = _SPACES.sub(" ", text or "").strip()
    if group_symbol != " ":
        cleaned = cleaned.replace(" ", "\x00") if re.search(r"\d \d", cleaned) else cleaned.replace(" ", "")
    if not cleaned or len(cleaned) > 40:
        return None
    allowed = re.escape(decimal_symbol) + re.escape(group_symbol)
    if not re.fullmatch(rf"[+-]?[0-9][0-9{allowed}]*|[+-]?{re.escape(decimal_symbol)}[0-9]+", cleaned):
        return None
    try:
        value = parse_decimal(cleaned.replace(" ", get_group_symbol(name)), locale=name, strict=True)
    except (NumberFormatError, ValueError, ArithmeticError):
        if not _PLAIN.fullmatch(cleaned):
            return None
        value = Decimal(cleaned)
    return value if value.is_finite() else None


def parse_amount(
    text: str | None,
    locale: str | None,
    *,
    label: str | None = None,
    allow_negative: bool = False,
    allow_zero: bool = True,
) -> Decimal:
    """An amount of money typed in the store's locale, with at most 2 decimal places."""
    name = _locale_name(locale)
    stripped = _strip_currency(_SPACES.sub(" ", text or "").strip(), name)
    value = parse_number(stripped, name) if stripped is not None else None
    if value is None:
        raise NumberError(
            _words(label, N_("must be an amount such as %(example)s"), example=amount_example(name))
        )
    try:
        return money.parse_amount(value, allow_negative=allow_negative, allow_zero=allow_zero)
    except MoneyError as error:
        raise NumberError(_words(label, str(error))) from None


def parse_rate(
    text: str | None, locale: str | None, *, label: str | None = None, maximum: Decimal | None = Decimal(1)
) -> Decimal:
    """A rate typed as a percentage (`5%`, `5`, `2,5%`, `0.5` = 0.5 %), returned as the share
    customer_credit.money.parse_rate returns (5 % is 0.0500): up to 2 decimal places of percent."""
    name = _locale_name(locale)
    cleaned = _SPACES.sub(" ", text or "").strip()
    if cleaned.endswith("%"):
        cleaned = cleaned[:-1].rstrip()
    value = parse_number(cleaned, name) if "%" not in cleaned else None
    if value is None:
        raise NumberError(
            _words(label, N_("must be a percentage such as %(example)s"), example=rate_example(name))
        )
    if value < 0:
        raise NumberError(_words(label, "must not be negative"))
    top = None if maximum is None else maximum * _PERCENT
    if top is not None and value > top:
        raise NumberError(_words(label, N_("must be between 0%% and %(top)s%%"), top=f"{top.normalize():f}"))
    if abs(value) > 100_000_000:
        raise NumberError(_words(label, "is too large"))
    if value != value.quantize(_PERCENT_UNIT):
        raise NumberError(_words(label, "must have at most 2 decimal places"))
    return money.parse_rate(value / _PERCENT, maximum=maximum)
