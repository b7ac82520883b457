"""An account's available figures (the product rules' "Account figures"), defined here only:
for one account in Python, and as a SQL expression for queries that filter or sort by them."""

from typing import Protocol

from sqlalchemy import ColumnElement

from customer_credit.accounts.models import Account


class StoredFigures(Protocol):
    """A loaded Account, or any row holding its stored figures."""

    credit_limit_cents: int
    tolerance_units: int
    balance_cents: int
    pre_authorized_cents: int


def available_balance_cents(account: StoredFigures) -> int:
    """availableBalance = L + B."""
    return account.credit_limit_cents + account.balance_cents


def available_credit_cents(account: StoredFigures) -> int:
    """availableCredit = L + B − P."""
    return available_balance_cents(account) - account.pre_authorized_cents


def available_credit_sql() -> ColumnElement[int]:
    """`available_credit_cents` over the accounts table."""
    return Account.credit_limit_cents + Account.balance_cents - Account.pre_authorized_cents
