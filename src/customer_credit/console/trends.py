"""The dashboard's charts: what is owed by age (the aging buckets) and what was invoiced and
paid in each of the last twelve months, with the bar lengths the SVG draws.

Months are calendar months in the store's time zone. "Invoiced" is the value of the invoices
created in the month (cancelled ones excluded); "paid" is what payments brought in the month
(the ledger's Payment entries, as "Paid this month" on the dashboard).

Each chart is one pass over its rows: a row's month is found by one CASE over the month
bounds and the rows are summed per month (GROUP BY), rather than twelve sums each testing
every row against its month's two bounds."""

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

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


@dataclass(frozen=True)
class Twelve:
    months: list[Month]
    # Payments since the first instant of the current month (the dashboard's "Paid this
    # month"): the last month's bar, and any entry dated after it.
    paid_this_month_cents: int


def aging_bars(buckets: aging.Buckets) -> list[Bar]:
    cents = list(buckets.cents)
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


def _sums_by_month(
    session: Session, column, created, bounds: list[datetime], *conditions, open_ended: bool = False
) -> list[int]:
    """The sums of `column` over the rows created in each month between `bounds`; with
    `open_ended`, one more: the rows created from the last bound on."""
    months = len(bounds) - 1
    month_of = case(*((created < end, number) for number, end in enumerate(bounds[1:])), else_=months)
    where = [created >= bounds[0], *conditions]
    if not open_ended:
        where.append(created < bounds[-1])
    rows = select(month_of.label("month"), column.label("cents")).where(*where).subquery()
    sums = [0] * (months + 1 if open_ended else months)
    for month, cents in session.execute(select(rows.c.month, func.sum(rows.c.cents)).group_by(rows.c.month)):
        sums[int(month)] = int(cents or 0)
    return sums


def twelve_months(session: Session, store_id: int, now: datetime, zone: ZoneInfo) -> Twelve:
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
        open_ended=True,
    )
    paid, paid_later = paid[:MONTHS], paid[MONTHS]
    scale = lengths(invoiced + paid)
    months = [
        Month(
            first_day=bounds[index].date(),
            invoiced=Bar("invoiced", invoiced[index], scale[index]),
            paid=Bar("paid", paid[index], scale[MONTHS + index]),
        )
        for index in range(MONTHS)
    ]
    return Twelve(months, paid[-1] + paid_later)
