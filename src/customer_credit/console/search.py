"""Read-only queries the console adds on top of the domains' own: free-text account search,
the order of the accounts and invoices tables, the dashboard's totals and an account's
transactions."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from customer_credit.accounts import queries as account_queries
from customer_credit.accounts.figures import available_credit_cents, available_credit_sql
from customer_credit.accounts.models import OPEN, Account, Holder
from customer_credit.credit_control import aging
from customer_credit.invoices.models import OPENED, Invoice
from customer_credit.invoices.overdue_days import is_overdue, overdue_condition
from customer_credit.transactions.models import Transaction

MAX_TEXT = 200
EXPIRED = "Expired"

# A table's order: (model column name, descending) pairs, the last one (id) unique so that
# pages never overlap.
Order = tuple[tuple[str, bool], ...]

# The columns a table can be sorted on: the `sort` query value -> the model's column. Only these
# names reach the query (an unknown value is the default order).
ACCOUNT_SORTS = {
    "created": "created_at",
    "account": "public_id",
    "document": "document",
    "email": "email",
    "limit": "credit_limit_cents",
}
INVOICE_SORTS = {
    "created": "created_at",
    "invoice": "friendly_id",
    "value": "value_cents",
    "paid": "paid_cents",
    "due": "due_at",
}


@dataclass(frozen=True)
class Sort:
    """The order a table is shown in: its column (a key of the table's sorts), its direction
    and whether the query string chose it (`param` is then carried on by the pager)."""

    key: str
    descending: bool
    chosen: bool
    order: Order

    @property
    def param(self) -> str:
        return ("-" if self.descending else "") + self.key if self.chosen else ""

    def link(self, key: str) -> str:
        """The `sort` value of a header link: its column ascending, or descending when it is
        the column shown ascending now."""
        return f"-{key}" if key == self.key and not self.descending else key


def parse_sort(raw: str | None, columns: dict[str, str], *, default: str, descending: bool) -> Sort:
    """`sort=column` or `sort=-column` (descending) among `columns`; anything else is the
    default (`default` in the `descending` direction)."""
    text = (raw or "").strip()[:40]
    wanted_descending = text.startswith("-")
    key = text[1:] if wanted_descending else text
    chosen = key in columns
    if not chosen:
        key, wanted_descending = default, descending
    column = columns[key]
    return Sort(key, wanted_descending, chosen, ((column, wanted_descending), ("id", wanted_descending)))


def account_sort(raw: str | None) -> Sort:
    """Newest first unless asked otherwise; served by ix_accounts_store_status_created."""
    return parse_sort(raw, ACCOUNT_SORTS, default="created", descending=True)


def invoice_sort(raw: str | None, *, open_only: bool) -> Sort:
    """Newest first (ix_invoices_store_created); open invoices (Opened or Expired) due soonest
    first (ix_invoices_store_status_due)."""
    if open_only:
        return parse_sort(raw, INVOICE_SORTS, default="due", descending=False)
    return parse_sort(raw, INVOICE_SORTS, default="created", descending=True)


def ordered(model, order: Order) -> list:
    return [getattr(model, name).desc() if descending else getattr(model, name) for name, descending in order]


def display_status(invoice: Invoice, now: datetime) -> str:
    """The console's word for an invoice: "Expired" is an overdue one (the API's status stays
    Opened)."""
    return EXPIRED if is_overdue(invoice, now) else invoice.status


def accounts_matching(store_id: int, *, status: str | None, text: str | None) -> Select:
    """The API's account search (status, open by default) narrowed by a case-insensitive
    piece of the id, document, owner e-mail or a holder's e-mail."""
    query = account_queries.search(store_id, status=status, email=None)
    text = (text or "").strip().lower()[:MAX_TEXT]
    if text:
        held = exists().where(
            and_(
                Holder.account_id == Account.id,
                Holder.removed_at.is_(None),
                func.lower(Holder.email).contains(text, autoescape=True),
            )
        )
        query = query.where(
            or_(
                func.lower(Account.public_id).contains(text, autoescape=True),
                func.lower(Account.document).contains(text, autoescape=True),
                func.lower(Account.email).contains(text, autoescape=True),
                held,
            )
        )
    return query


def count(session: Session, query: Select) -> int:
    return account_queries.count(session, query)


@dataclass(frozen=True)
class Bucket:
    count: int
    owed_cents: int


@dataclass(frozen=True)
class NearLimit:
    account: Account
    available_credit_cents: int
    # The share of the limit in use, in whole percent (rounded down).
    used_percent: int


@dataclass(frozen=True)
class Dashboard:
    owed: Bucket
    overdue: Bucket
    due_soon: Bucket
    paid_this_month_cents: int
    open_accounts: int
    nearest_limit: list[NearLimit]
    # What the open invoices still ask for, by age (the aging report's store-wide buckets).
    aging: aging.Buckets


def _near_limit(account: Account) -> NearLimit:
    available = available_credit_cents(account)
    used_percent = (account.credit_limit_cents - available) * 100 // account.credit_limit_cents
    return NearLimit(account, available, used_percent)


def _open_figures(
    session: Session, store_id: int, now: datetime, zone: ZoneInfo
) -> tuple[Bucket, Bucket, Bucket, aging.Buckets]:
    """Owed, overdue, due within 7 days and the aging buckets, in one pass over the store's
    Opened invoices (each figure a sum of the rows its condition keeps) rather than one scan
    per figure."""
    owed = Invoice.value_cents - Invoice.paid_cents
    overdue = overdue_condition(now)
    due_soon = and_(Invoice.due_at >= now, Invoice.due_at < now + timedelta(days=7))

    def counted(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    def owed_on(condition):
        return func.coalesce(func.sum(case((condition, owed), else_=0)), 0)

    # The aging report's own bucket sums (credit_control owns the rule), in the same pass.
    buckets = aging.bucket_sums(now, zone)[: len(aging.BUCKETS)]
    row = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(owed), 0),
            counted(overdue),
            owed_on(overdue),
            counted(due_soon),
            owed_on(due_soon),
            *buckets,
        ).where(Invoice.store_id == store_id, Invoice.status == OPENED)
    ).one()
    figures = [int(value or 0) for value in row]
    first, second, third, fourth, fifth = figures[6:]
    return (
        Bucket(figures[0], figures[1]),
        Bucket(figures[2], figures[3]),
        Bucket(figures[4], figures[5]),
        aging.Buckets((first, second, third, fourth, fifth)),
    )


def dashboard(
    session: Session, store_id: int, *, now: datetime, zone: ZoneInfo, paid_this_month_cents: int
) -> Dashboard:
    """The dashboard's figures at `now`; the aging buckets count days in `zone` (the store's),
    and "Paid this month" comes from the twelve-month chart's pass over the payments."""
    owed, overdue, due_soon, buckets = _open_figures(session, store_id, now, zone)
    limited = and_(Account.store_id == store_id, Account.status == OPEN, Account.credit_limit_cents > 0)
    # Ordered by the share of the limit still available, in basis points (integers, no floats).
    available_share = (available_credit_sql() * 10000) / Account.credit_limit_cents
    nearest = [
        _near_limit(account)
        for account in session.scalars(
            select(Account).where(limited).order_by(available_share, Account.id).limit(5)
        )
    ]
    return Dashboard(
        owed=owed,
        overdue=overdue,
        due_soon=due_soon,
        paid_this_month_cents=paid_this_month_cents,
        open_accounts=count(session, account_queries.search(store_id, status=OPEN, email=None)),
        nearest_limit=nearest,
        aging=buckets,
    )


def transactions_of(session: Session, account: Account, *, limit: int = 50) -> list[Transaction]:
    return list(
        session.scalars(
            select(Transaction)
            .where(Transaction.account_id == account.id)
            .order_by(Transaction.created_at.desc(), Transaction.id.desc())
            .limit(limit)
        )
    )
