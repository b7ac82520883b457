"""Payment conditions: the schedule a settlement's installments follow, and the store's
conditions (create or replace, list, read, delete).

A condition changes no money by itself: it writes no ledger entry. It only decides, at a
settlement, when each installment is due and how much interest it bears
(docs/payment-conditions.md)."""

import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from customer_credit.db.base import utcnow
from customer_credit.errors import NotFound, field_error
from customer_credit.money import MoneyError, cents_times_rate, parse_rate, rate_to_units
from customer_credit.payment_conditions.models import PaymentCondition
from customer_credit.stores.models import Store

MAX_NAME_LENGTH = 100
MAX_LISTED_INSTALLMENTS = 24
MAX_DAYS = 3650
DAYS_BETWEEN_INSTALLMENTS = 30

_TERMS = re.compile(r"\s*[0-9]+\s*(?:/\s*[0-9]+\s*)*")


@dataclass(frozen=True)
class Schedule:
    """When each installment of a settlement is due and what interest it bears. `name` is the
    condition's (None for the built-in rule)."""

    name: str | None
    due_days: tuple[int, ...]
    every_days: int
    interest_rate_units: int

    def due_offset_days(self, k: int) -> int:
        """Days from the settlement to installment k (1-based): the k-th listed day, and past the
        list `every_days` more per installment after the last listed one."""
        if k < 1:
            raise ValueError("installments are numbered from 1")
        if k <= len(self.due_days):
            return self.due_days[k - 1]
        return self.due_days[-1] + (k - len(self.due_days)) * self.every_days

    def interest_cents(self, part_cents: int, k: int) -> int:
        """Installment k's interest: k × rate × its part, rounded half to even to the cent."""
        if k < 1:
            raise ValueError("installments are numbered from 1")
        return cents_times_rate(part_cents, k * self.interest_rate_units)


# domain.md's rule before payment conditions: installment k is due k × 30 days after the
# settlement, no interest.
DEFAULT_SCHEDULE = Schedule(
    name=None,
    due_days=(DAYS_BETWEEN_INSTALLMENTS,),
    every_days=DAYS_BETWEEN_INSTALLMENTS,
    interest_rate_units=0,
)


def schedule_of(condition: PaymentCondition) -> Schedule:
    return Schedule(
        name=condition.name,
        due_days=tuple(condition.due_days),
        every_days=condition.every_days,
        interest_rate_units=condition.interest_rate_units,
    )


def _find(session: Session, store_id: int, name: str, *, lock: bool = False) -> PaymentCondition | None:
    query = select(PaymentCondition).where(
        PaymentCondition.store_id == store_id, PaymentCondition.name == name
    )
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def _not_found(name: str) -> NotFound:
    return NotFound(f"no payment condition named {name!r}", code="PaymentConditionNotFound")


def schedule_for(session: Session, store_id: int, name: str | None) -> Schedule:
    """The schedule of a first settlement: the condition it names (404 if the store has none by
    that name), else the store's default condition, else DEFAULT_SCHEDULE."""
    if name is not None:
        condition = _find(session, store_id, name)
        if condition is None:
            raise _not_found(name)
        return schedule_of(condition)
    default = session.scalar(
        select(PaymentCondition).where(PaymentCondition.store_id == store_id, PaymentCondition.is_default)
    )
    return schedule_of(default) if default is not None else DEFAULT_SCHEDULE


def stored_schedule(session: Session, store_id: int, name: str | None) -> Schedule:
    """The schedule of the condition a transaction was first settled under (its stored name),
    for the invoices a later settlement adds. No name means the built-in rule applied; a
    condition deleted since falls back to it too, so a re-settlement never fails for it."""
    condition = _find(session, store_id, name) if name is not None else None
    return schedule_of(condition) if condition is not None else DEFAULT_SCHEDULE


# --- the store's conditions ----------------------------------------------------------------


def clean_name(name: str) -> str:
    """1 to 100 printable characters, no '/' (the name is a path segment of the API)."""
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise field_error("name", f"must be 1 to {MAX_NAME_LENGTH} characters")
    if not name.isprintable():
        raise field_error("name", "must hold printable characters only")
    if "/" in name:
        raise field_error("name", "must not contain '/'")
    if name != name.strip():
        raise field_error("name", "must not start or end with a space")
    if name in (".", ".."):
        raise field_error("name", "must not be '.' or '..'")
    return name


def _day_count(field: str, raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise field_error(field, "must be a whole number of days")
    if not 1 <= raw <= MAX_DAYS:
        raise field_error(field, f"must be between 1 and {MAX_DAYS} days")
    return raw


def clean_due_days(due_days: object) -> list[int]:
    """1 to 24 whole numbers of days, each 1..3650, strictly increasing."""
    if not isinstance(due_days, (list, tuple)):
        raise field_error("dueDays", "must be a list of days")
    if not 1 <= len(due_days) <= MAX_LISTED_INSTALLMENTS:
        raise field_error("dueDays", f"must list 1 to {MAX_LISTED_INSTALLMENTS} days")
    days = [_day_count("dueDays", day) for day in due_days]
    if any(later <= earlier for earlier, later in zip(days, days[1:], strict=False)):
        raise field_error("dueDays", "must be strictly increasing")
    return days


def default_every_days(due_days: list[int]) -> int:
    """The gap after the list when none is given: the list's last gap, or its only day."""
    return due_days[-1] - due_days[-2] if len(due_days) > 1 else due_days[0]


def clean_interest_rate(rate: object) -> int:
    """The rate per installment, 0..1 with at most 4 decimals, in ten-thousandths."""
    try:
        return rate_to_units(parse_rate(rate, maximum=Decimal(1)))
    except MoneyError as error:
        raise field_error("interestRatePerInstallment", str(error)) from None


def parse_terms(text: str) -> list[int]:
    """The shorthand people write, "30/60/90", as due days ([30, 60, 90]); the rules of
    `clean_due_days` apply."""
    if not isinstance(text, str) or not _TERMS.fullmatch(text):
        raise field_error("dueDays", 'must be days separated by "/", like 30/60/90')
    return clean_due_days([int(part) for part in text.split("/")])


def _lock_store(session: Session, store_id: int) -> None:
    """Serializes changes to one store's conditions, so that two requests marking different
    conditions default cannot both win."""
    session.execute(select(Store.id).where(Store.id == store_id).with_for_update()).one()


def put_condition(
    session: Session,
    store_id: int,
    name: str,
    *,
    due_days: list[int] | tuple[int, ...],
    every_days: int | None = None,
    interest_rate: Decimal | int | str = 0,
    is_default: bool = False,
) -> PaymentCondition:
    """Creates the condition, or replaces every term of the one by that name. Marking it
    default un-marks the store's other conditions."""
    name = clean_name(name)
    days = clean_due_days(due_days)
    every = _day_count("everyDays", every_days) if every_days is not None else default_every_days(days)
    rate_units = clean_interest_rate(interest_rate)
    if not isinstance(is_default, bool):
        raise field_error("default", "must be true or false")
    _lock_store(session, store_id)
    now = utcnow()
    condition = _find(session, store_id, name, lock=True)
    if condition is None:
        condition = PaymentCondition(store_id=store_id, name=name, created_at=now)
        session.add(condition)
    condition.due_days = days
    condition.every_days = every
    condition.interest_rate_units = rate_units
    condition.is_default = is_default
    condition.updated_at = now
    session.flush()
    if is_default:
        session.execute(
            update(PaymentCondition)
            .where(
                PaymentCondition.store_id == store_id,
                PaymentCondition.id != condition.id,
                PaymentCondition.is_default,
            )
            .values(is_default=False, updated_at=now)
            .execution_options(synchronize_session="fetch")
        )
    return condition


def list_conditions(session: Session, store_id: int) -> list[PaymentCondition]:
    return list(
        session.scalars(
            select(PaymentCondition)
            .where(PaymentCondition.store_id == store_id)
            .order_by(PaymentCondition.name)
        )
    )


def get_condition(session: Session, store_id: int, name: str) -> PaymentCondition:
    condition = _find(session, store_id, name)
    if condition is None:
        raise _not_found(name)
    return condition


def delete_condition(session: Session, store_id: int, name: str) -> None:
    """Removes the condition (404 if absent). Transactions settled under it keep its name; a
    later re-settlement of one dates its new invoices by DEFAULT_SCHEDULE."""
    _lock_store(session, store_id)
    condition = _find(session, store_id, name, lock=True)
    if condition is None:
        raise _not_found(name)
    session.delete(condition)
    session.flush()
