"""The aging report: what a store's customers still owe, by how late it is.

Buckets: current (open and not overdue by a calendar day, which includes an invoice whose due
moment passed earlier today), 1–30, 31–60, 61–90 and over 90 days overdue. Days overdue are
those of customer_credit.invoices.overdue_days (calendar days in the store's time zone), and
an invoice counts for what is still owed on it (value − creditValue) while it is Opened.

The report is one grouped SQL query. Since a bucket depends only on the local due date, each
bucket starts at one UTC instant, the start of a local day (for `now` and the store's zone),
and the query compares due_at with those constants; `bucket_of` is the same rule in Python.
`now` always comes from the caller (a request's clock, `--at`), never from the wall clock."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Label, Select, and_, case, func, select
from sqlalchemy.orm import Session

from customer_credit.accounts import service as accounts
from customer_credit.accounts.models import Account
from customer_credit.auth.principal import Principal
from customer_credit.dates import parse_datetime, store_zone
from customer_credit.errors import field_error
from customer_credit.invoices.models import OPENED, Invoice
from customer_credit.invoices.overdue_days import days_overdue
from customer_credit.paging import Window
from customer_credit.stores import service as stores

# Wire names of the buckets, youngest first, and the first day overdue each one holds.
BUCKETS = ("current", "days1To30", "days31To60", "days61To90", "over90")
BUCKET_FIRST_DAYS = (0, 1, 31, 61, 91)
BUCKET_LABELS = ("Current", "1–30 days", "31–60 days", "61–90 days", "Over 90 days")


def bucket_of(days: int) -> int:
    """The bucket (an index into BUCKETS) of an invoice overdue by `days` calendar days."""
    return sum(1 for first in BUCKET_FIRST_DAYS[1:] if days >= first)


@dataclass(frozen=True)
class Buckets:
    """Cents still owed per bucket, in the order of BUCKETS."""

    cents: tuple[int, int, int, int, int]

    @property
    def total(self) -> int:
        return sum(self.cents)

    def by_name(self) -> dict[str, int]:
        return dict(zip(BUCKETS, self.cents, strict=True))


NO_BUCKETS = Buckets((0, 0, 0, 0, 0))


@dataclass(frozen=True)
class AccountAging:
    account_id: int
    public_id: str
    buckets: Buckets


@dataclass(frozen=True)
class StoreAging:
    """The store-wide buckets, how many accounts owe anything, and the per-account rows asked
    for (a page, or all of them), largest total first."""

    now: datetime
    zone: ZoneInfo
    buckets: Buckets
    account_count: int
    rows: list[AccountAging]

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()


def start_of_local_day(day: date, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) whose date in `zone` is `day`. When midnight falls in a gap (a
    clock moved forward at 00:00), zoneinfo reads it with the offset before the change, which
    is the very instant the gap ends: still the first instant of the day."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def bucket_starts(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime, datetime, datetime]:
    """An invoice is overdue by at least N ≥ 1 days when its local due date is N days before
    today or earlier, that is when it fell due before the start of the local day N − 1 days ago.
    Returns those instants for the first days of the overdue buckets (1, 31, 61 and 91)."""
    today = now.astimezone(zone).date()
    first, second, third, fourth = (
        start_of_local_day(today - timedelta(days=first_day - 1), zone) for first_day in BUCKET_FIRST_DAYS[1:]
    )
    return first, second, third, fourth


def bucket_sums(now: datetime, zone: ZoneInfo) -> list[Label[Any]]:
    """Cents still owed per bucket, then in all."""
    owed = Invoice.value_cents - Invoice.paid_cents
    one, thirty_one, sixty_one, ninety_one = bucket_starts(now, zone)
    due = Invoice.due_at
    conditions = (
        due >= one,
        and_(due < one, due >= thirty_one),
        and_(due < thirty_one, due >= sixty_one),
        and_(due < sixty_one, due >= ninety_one),
        due < ninety_one,
    )
    sums = [
        func.sum(case((condition, owed), else_=0)).label(name)
        for name, condition in zip(BUCKETS, conditions, strict=True)
    ]
    return [*sums, func.sum(owed).label("total")]


def _grouped(store_id: int, now: datetime, zone: ZoneInfo, account_id: int | None = None) -> Select:
    """One row per account with an Opened invoice: its account id, cents per bucket, total."""
    query = select(Invoice.account_id, *bucket_sums(now, zone)).where(*_opened(store_id))
    if account_id is not None:
        query = query.where(Invoice.account_id == account_id)
    return query.group_by(Invoice.account_id)


def _buckets(values) -> Buckets:
    # PostgreSQL sums bigints as numeric (Decimal); whole cents either way.
    first, second, third, fourth, fifth = (int(value or 0) for value in values)
    return Buckets((first, second, third, fourth, fifth))


def zone_of(session: Session, principal: Principal) -> ZoneInfo:
    """The store's time zone, in which its reports count days."""
    return store_zone(stores.get_config(session, principal.store_id))


def _opened(store_id: int):
    return (Invoice.store_id == store_id, Invoice.status == OPENED)


def store_aging(
    session: Session, principal: Principal, *, now: datetime, window: Window | None = None
) -> StoreAging:
    """The store's aging at `now`: store-wide buckets and account count, and the accounts in
    `window` (all of them without one) ordered by total owed, largest first."""
    zone = zone_of(session, principal)
    account_count, buckets = _summary(session, principal.store_id, now, zone)
    grouped = _grouped(principal.store_id, now, zone).subquery()
    bucket_columns = [grouped.c[name] for name in BUCKETS]
    page = (
        select(Account.id, Account.public_id, *bucket_columns)
        .join(grouped, grouped.c.account_id == Account.id)
        .order_by(grouped.c.total.desc(), Account.public_id, Account.id)
    )
    if window is not None:
        page = page.offset(window.offset).limit(window.limit)
    rows = [
        AccountAging(account_id=row[0], public_id=row[1], buckets=_buckets(row[2:]))
        for row in session.execute(page)
    ]
    return StoreAging(now=now, zone=zone, buckets=buckets, account_count=account_count, rows=rows)


def _summary(session: Session, store_id: int, now: datetime, zone: ZoneInfo) -> tuple[int, Buckets]:
    """How many accounts have an Opened invoice, and the store-wide buckets: one pass over the
    store's Opened invoices, with no grouping by account (the figures need none)."""
    summary = session.execute(
        select(func.count(func.distinct(Invoice.account_id)), *bucket_sums(now, zone)).where(
            *_opened(store_id)
        )
    ).one()
    return int(summary[0]), _buckets(summary[1 : 1 + len(BUCKETS)])


def account_aging(session: Session, principal: Principal, public_id: str, *, now: datetime) -> AccountAging:
    """One account's aging at `now` (all buckets 0 when it owes nothing); 404 for an account the
    store does not have."""
    account = accounts.get_account(session, principal, public_id)
    zone = zone_of(session, principal)
    row = session.execute(_grouped(principal.store_id, now, zone, account_id=account.id)).one_or_none()
    buckets = NO_BUCKETS if row is None else _buckets(row[1 : 1 + len(BUCKETS)])
    return AccountAging(account_id=account.id, public_id=account.public_id, buckets=buckets)


def python_aging(invoices: list[Invoice], now: datetime, zone: ZoneInfo) -> dict[int, Buckets]:
    """The same report computed invoice by invoice with days_overdue (for checks and tests):
    account id → buckets."""
    found: dict[int, list[int]] = {}
    for invoice in invoices:
        if invoice.status != OPENED:
            continue
        cents = found.setdefault(invoice.account_id, [0, 0, 0, 0, 0])
        cents[bucket_of(days_overdue(invoice.due_at, now, zone))] += invoice.value_cents - invoice.paid_cents
    return {account_id: _buckets(cents) for account_id, cents in found.items()}


def moment_of(raw: str | None, zone: ZoneInfo, *, default: datetime, field: str = "at") -> datetime:
    """The moment an aging is asked for: `default` when absent, an ISO 8601 moment (UTC unless
    it says), or a date alone, which is that day in the store's time zone (its first instant:
    every moment of a day gives the same buckets). A bad value is a 400 naming `field`."""
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise field_error(field, "must be an ISO 8601 date or date-time") from None
        try:
            moment = start_of_local_day(day, zone)
        except OverflowError:
            raise field_error(field, "is out of range") from None
    else:
        moment = parse_datetime(field, text)
    try:
        bucket_starts(moment, zone)  # 90 days before the year 1 has no bucket start
    except (OverflowError, ValueError):
        raise field_error(field, "is out of range") from None
    return moment
