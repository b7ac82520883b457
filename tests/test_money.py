"""Parsing amounts: numbers and numeric strings only (domain.md, Money)."""

from decimal import Decimal

import pytest

from customer_credit.money import MoneyError, parse_amount, to_decimal


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(Decimal("1.50"), Decimal("1.50")), (7, Decimal(7)), (" 2.5 ", Decimal("2.5")), (0.1, Decimal("0.1"))],
)
def test_numbers_and_numeric_strings_become_decimals(raw, expected):
    assert to_decimal(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        [0, [1], 0],  # Decimal() reads a digit list as 1
        (0, (1,), 0),
        [100],
        {"amount": 1},
        b"1",
        None,
        True,
        "1_000",
        "abc",
    ],
)
def test_anything_else_is_not_a_number(raw):
    with pytest.raises(MoneyError, match="must be a number"):
        parse_amount(raw)
