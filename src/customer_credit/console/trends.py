"""The dashboard's charts: what is owed by age (the aging buckets) and what was invoiced and
paid in each of the last twelve months, with the bar lengths the SVG draws.

Months are calendar months in the store's time zone. "Invoiced" is the value of the invoices
created in the month (cancelled ones excluded); "paid" is what payments brought in the month
(the ledger's Payment entries, as "Paid this month" on the dashboard)."""

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from customer_credit.auth.principal import Principal
from customer_credit.credit_control import aging
from customer_credit.invoices.models import CANCELLED, Invoice
from customer_credit.ledger.models import PAYMENT, Statement


def N_(message: str) -> str:  # noqa: N802 - the name Babel extracts by default
    """Marks a string for the catalogs; it is translated where it is shown."""
    return message


# The aging buckets as the dashboard names them (credit_control.aging.BUCKETS order).
AGING_LABELS = (N_("Current"), N_("1–30 days"), N_("31–60 days"), N_("61–90 days"), N_("Over 90 days"))
MONTHS = 12
BAR_WIDTH = 100  # a bar's length is a whole share of this (the SVG's viewBox units)


@dataclass(frozen=True)
class Bar:
    key: str
    cents: int
    length: int  # 0..BAR_WIDTH, relative to the largest bar of its chart


@dataclass(frozen=True)
class Month:
    first_day: date
    invoiced: Bar
    paid: Bar


def lengths(values: list[int]) -> list[int]:
    """Bar lengths proportional to `values` (integers, no floats); a non-zero value is never
    drawn as nothing."""
    top = max([value for value in values if value > 0], default=0)
    if top == 0:
        return [0 for _ in values]
    return [max(1, value * BAR_WIDTH // top) if value > 0 else 0 for value in values]


def aging_bars(session: Session, principal: Principal, now: datetime) -> list[Bar]:
    cents = list(aging.store_buckets(session, principal, now=now).cents)
    return [
        Bar(key, value, length)
        for key, value, length in zip(aging.BUCKETS, cents, lengths(cents), strict=True)
    ]


def month_starts(now: datetime, zone: ZoneInfo, months: int = MONTHS) -> list[datetime]:
    """The first instants of the last `months` local months (the current one last), then the
    first instant of the next month: months + 1 bounds."""
    today = now.astimezone(zone).date()
    index = today.year * 12 + today.month - 1 - (months - 1)
    bounds = []
    for _ in range(months + 1):
        year, month = divmod(index, 12)
        bounds.append(datetime.combine(date(year, month + 1, 1), time.min, tzinfo=zone))
        index += 1
    return bounds


def _sums_by_month(session: Session, column, created, bounds: list[datetime], *conditions) -> list[int]:
    sums = [
        func.coalesce(func.sum(case((and_(created >= start, created < end), column), else_=0)), 0)
        for start, end in zip(bounds, bounds[1:], strict=False)
    ]
    row = session.execute(select(*sums).where(created >= bounds[0], created < bounds[-1], *conditions)).one()
    return [int(value or 0) for value in row]


def twelve_months(session: Session, store_id: int, now: datetime, zone: ZoneInfo) -> list[Month]:
    bounds = month_starts(now, zone)
    invoiced = _sums_by_month(
        session,
        Invoice.value_cents,
        Invoice.created_at,
        bounds,
        Invoice.store_id == store_id,
        Invoice.status != CANCELLED,
    )
    paid = _sums_by_month(
        session,
        Statement.value_cents,
        Statement.created_at,
        bounds,
        Statement.store_id == store_id,
        Statement.origin == PAYMENT,
    )
    scale = lengths(invoiced + paid)
    return [
        Month(
            first_day=bounds[index].date(),
            invoiced=Bar("invoiced", invoiced[index], scale[index]),
            paid=Bar("paid", paid[index], scale[MONTHS + index]),
        )
        for index in range(MONTHS)
    ]
