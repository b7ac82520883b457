"""Amounts and rates: parsing, quantizing and splitting, with Decimal only.

Amounts travel as Decimal with 2 places and are stored as integer cents; rates (tolerance,
interest, growth) have up to 4 places and are stored as integer ten-thousandths.
"""

import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

CENT = Decimal("0.01")
RATE_UNIT = Decimal("0.0001")
RATE_SCALE = 10_000
# A bound on every amount: 10^13 cents keeps sums far inside a signed 64-bit column.
MAX_AMOUNT = Decimal("100000000000")


_NUMERAL = re.compile(
    r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:NaN|Infinity|inf)", re.IGNORECASE
)


class MoneyError(ValueError):
    """A value that is not an acceptable amount or rate; the message says why."""


def to_decimal(raw: object) -> Decimal:
    if isinstance(raw, bool) or raw is None:
        raise MoneyError("must be a number")
    if isinstance(raw, float):
        # Only reachable from Python callers: the API parses JSON numbers straight to Decimal.
        raw = repr(raw)
    if isinstance(raw, str):
        raw = raw.strip()
        # Plain ASCII decimal notation only: Decimal() would also take "1_000" and other
        # scripts' digits ("١٢" is 12), which no client means as an amount.
        if not _NUMERAL.fullmatch(raw):
            raise MoneyError("must be a number")
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, (int, str)):
        try:
            value = Decimal(raw)
        except (InvalidOperation, ValueError):
            raise MoneyError("must be a number") from None
    else:
        # Decimal() would also take digit tuples and lists ([0, [1], 0] is 1): not an amount.
        raise MoneyError("must be a number")
    if not value.is_finite():
        raise MoneyError("must be a finite number")
    return value


def parse_amount(raw: object, *, allow_negative: bool = False, allow_zero: bool = True) -> Decimal:
    value = to_decimal(raw)
    if abs(value) > MAX_AMOUNT:
        raise MoneyError(f"must be at most {MAX_AMOUNT}")
    if value != value.quantize(CENT):
        raise MoneyError("must have at most 2 decimal places")
    if value < 0 and not allow_negative:
        raise MoneyError("must not be negative")
    if value == 0 and not allow_zero:
        raise MoneyError("must be greater than 0")
    return value.quantize(CENT)


def parse_rate(raw: object, *, maximum: Decimal | None = Decimal(1)) -> Decimal:
    value = to_decimal(raw)
    if abs(value) > 1_000_000:
        raise MoneyError("is too large")
    if value != value.quantize(RATE_UNIT):
        raise MoneyError("must have at most 4 decimal places")
    if value < 0:
        raise MoneyError("must not be negative")
    if maximum is not None and value > maximum:
        raise MoneyError(f"must be between 0 and {maximum}")
    return value.quantize(RATE_UNIT)


def to_cents(amount: Decimal) -> int:
    return int(amount.quantize(CENT) * 100)


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def rate_to_units(rate: Decimal) -> int:
    return int(rate.quantize(RATE_UNIT) * RATE_SCALE)


def rate_from_units(units: int) -> Decimal:
    return (Decimal(units) / RATE_SCALE).quantize(RATE_UNIT)


def cents_times_rate(cents: int, rate_units: int) -> int:
    """cents × rate rounded half-even to the cent (rates are ten-thousandths)."""
    exact = Decimal(cents) * Decimal(rate_units) / RATE_SCALE
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def split_cents(total_cents: int, parts: int) -> list[int]:
    """Each part gets total/parts rounded down; leftover cents go to the first parts."""
    if parts < 1:
        raise ValueError("parts must be at least 1")
    base, leftover = divmod(total_cents, parts)
    return [base + (1 if index < leftover else 0) for index in range(parts)]


def rate_for_wire(rate: Decimal) -> Decimal:
    """0.1000 → 0.1, 0 → 0: rates as people write them."""
    normalized = rate.normalize()
    return normalized.quantize(Decimal(1)) if normalized == normalized.to_integral() else normalized
