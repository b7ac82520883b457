"""Pydantic field types for the wire: amounts and rates accept numbers or numeric strings and
become Decimal; anything else is a 400 that names the field."""

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

from customer_credit.money import MoneyError, parse_amount, parse_rate, to_decimal


def _amount(**rules):
    def validate(raw: object) -> Decimal:
        try:
            return parse_amount(raw, **rules)
        except MoneyError as error:
            raise ValueError(str(error)) from None

    return BeforeValidator(validate)


def _rate(raw: object) -> Decimal:
    try:
        return parse_rate(raw)
    except MoneyError as error:
        raise ValueError(str(error)) from None


def _whole(raw: object) -> int:
    try:
        value = to_decimal(raw) if not isinstance(raw, int) or isinstance(raw, bool) else Decimal(raw)
    except MoneyError as error:
        raise ValueError(str(error)) from None
    if value != value.to_integral_value() or abs(value) > 1_000_000_000:
        raise ValueError("must be a whole number")
    return int(value)


Amount = Annotated[Decimal, _amount()]
PositiveAmount = Annotated[Decimal, _amount(allow_zero=False)]
SignedAmount = Annotated[Decimal, _amount(allow_negative=True)]
Rate = Annotated[Decimal, BeforeValidator(_rate)]
WholeNumber = Annotated[int, BeforeValidator(_whole)]


class WireModel(BaseModel):
    """Request bodies: unknown fields are refused, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", strict=False)
