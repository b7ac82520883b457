"""Invoice search: every filter as SQL, the page and the summary computed by the database."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from customer_credit.accounts.models import Account
from customer_credit.invoices.models import CANCELLED, OPENED, PAID, Invoice
from customer_credit.invoices.overdue_days import overdue_condition


@dataclass
class InvoiceFilters:
    created_from: tuple[datetime, bool] | None = None
    created_to: tuple[datetime, bool] | None = None
    due_from: tuple[datetime, bool] | None = None
    due_to: tuple[datetime, bool] | None = None
    value_cents: int | None = None
    status: str | None = None
    friendly_id: str | None = None
    observation: str | None = None
    account_public_id: str | None = None
    # The ids of the accounts `account_public_id` names, when already resolved: a plain list
    # lets an `op=or` search combine two index scans instead of scanning every invoice.
    account_ids: list[int] | None = None
    # Only invoices overdue at this moment (Opened and past due; the console's "Expired").
    overdue_at: datetime | None = None
    # "or" combines the filters above with OR instead of AND.
    any_of: bool = False


def _lower_bound(column, bound):
    moment, _inclusive = bound
    return column >= moment


def _upper_bound(column, bound):
    moment, inclusive = bound
    return column <= moment if inclusive else column < moment


def conditions(filters: InvoiceFilters) -> list:
    found = []
    if filters.created_from:
        found.append(_lower_bound(Invoice.created_at, filters.created_from))
    if filters.created_to:
        found.append(_upper_bound(Invoice.created_at, filters.created_to))
    if filters.due_from:
        found.append(_lower_bound(Invoice.due_at, filters.due_from))
    if filters.due_to:
        found.append(_upper_bound(Invoice.due_at, filters.due_to))
    if filters.value_cents is not None:
        found.append(Invoice.value_cents == filters.value_cents)
    if filters.status:
        found.append(Invoice.status == filters.status)
    if filters.friendly_id:
        found.append(Invoice.friendly_id == filters.friendly_id)
    if filters.observation:
        found.append(func.lower(Invoice.observation).contains(filters.observation.lower(), autoescape=True))
    if filters.account_ids is not None:
        found.append(Invoice.account_id.in_(filters.account_ids))
    elif filters.account_public_id:
        found.append(
            Invoice.account_id.in_(select(Account.id).where(Account.public_id == filters.account_public_id))
        )
    if filters.overdue_at is not None:
        found.append(overdue_condition(filters.overdue_at))
    return found


def account_ids(session: Session, store_id: int, public_id: str) -> list[int]:
    """Every account (open or closed) of the store with this public id."""
    return list(
        session.scalars(
            select(Account.id).where(Account.store_id == store_id, Account.public_id == public_id)
        )
    )


def matching(store_id: int, filters: InvoiceFilters, *, account_id: int | None = None) -> list:
    scope = [Invoice.store_id == store_id]
    if account_id is not None:
        scope.append(Invoice.account_id == account_id)
    found = conditions(filters)
    if found:
        scope.append(or_(*found) if filters.any_of else and_(*found))
    return scope


# Up to this many matches, the page and the summary come from one pass over the matches
# (`page_with_summary`); above it, the summary scans them and the page walks the created-at index.
FEW_MATCHES = 50_000

# The order of a page: (Invoice column name, descending) pairs, the last one unique. The API's
# is oldest first, ties by id; the console passes its own (console/search.py).
Order = tuple[tuple[str, bool], ...]
OLDEST_FIRST: Order = (("created_at", False), ("id", False))


def _ordered(table, order: Order) -> list:
    return [table.c[name].desc() if descending else table.c[name] for name, descending in order]


def page_with_summary(
    session: Session, where: list, *, offset: int, limit: int, order: Order = OLDEST_FIRST
) -> tuple[list[tuple[Invoice, str]], dict[str, int]] | None:
    """The page (in `order`: oldest first, ties by id) and the summary of all matches in one statement,
    or None when there are more than FEW_MATCHES matches or the page is past the last one.

    The matches are read once, through the filters' own indexes: the inner LIMIT keeps that
    subquery apart, so PostgreSQL plans it on its filters alone instead of walking the
    created-at index for the outer LIMIT (its planner assumes matches are spread evenly in
    that order, and reads most of the table when they sit together, e.g. an overdue range).
    Window totals over the matches then give the summary, a top-N sort the page."""
    names = dict.fromkeys(("id", "status", "value_cents", *(name for name, _ in order)))
    found = (
        select(*(getattr(Invoice, name) for name in names)).where(*where).limit(FEW_MATCHES + 1).subquery()
    )

    def window_total(status: str):
        return func.sum(case((found.c.status == status, found.c.value_cents), else_=0)).over()

    chosen = (
        select(
            *(found.c[name] for name in dict.fromkeys(("id", *(name for name, _ in order)))),
            func.count().over().label("n"),
            window_total(OPENED).label("opened"),
            window_total(PAID).label("paid"),
            window_total(CANCELLED).label("cancelled"),
        )
        .order_by(*_ordered(found, order))
        .offset(offset)
        .limit(limit)
        .subquery()
    )
    query: Select = (
        select(Invoice, Account.public_id, chosen.c.n, chosen.c.opened, chosen.c.paid, chosen.c.cancelled)
        .join(chosen, chosen.c.id == Invoice.id)
        .join(Account, Account.id == Invoice.account_id)
        .order_by(*_ordered(chosen, order))
    )
    rows = session.execute(query).all()
    if not rows or rows[0].n > FEW_MATCHES:
        return None
    first = rows[0]
    totals = {
        "count": int(first.n),
        "total": int(first.opened),
        "totalPaid": int(first.paid),
        "totalCancelled": int(first.cancelled),
    }
    return [(row[0], row[1]) for row in rows], totals


def page(
    session: Session, where: list, *, offset: int, limit: int, order: Order = OLDEST_FIRST
) -> list[tuple[Invoice, str]]:
    """The page's ids are chosen from the invoices alone (their order columns), then only those
    rows are read whole and joined to their accounts. In an order no index serves (by value,
    say), the database then sorts narrow rows instead of joining every match to its account
    and sorting whole rows; where an index serves the order, it reads the same index entries."""
    names = dict.fromkeys(("id", *(name for name, _ in order)))
    chosen = (
        select(*(getattr(Invoice, name) for name in names))
        .where(*where)
        .order_by(
            *(
                getattr(Invoice, name).desc() if descending else getattr(Invoice, name)
                for name, descending in order
            )
        )
        .offset(offset)
        .limit(limit)
        .subquery()
    )
    query: Select = (
        select(Invoice, Account.public_id)
        .join(chosen, chosen.c.id == Invoice.id)
        .join(Account, Account.id == Invoice.account_id)
        .order_by(*_ordered(chosen, order))
    )
    return [(row[0], row[1]) for row in session.execute(query)]


def summary(session: Session, where: list) -> dict[str, int]:
    def total_of(status: str):
        return func.coalesce(func.sum(case((Invoice.status == status, Invoice.value_cents), else_=0)), 0)

    count, opened, paid, cancelled = session.execute(
        select(func.count(), total_of(OPENED), total_of(PAID), total_of(CANCELLED)).where(*where)
    ).one()
    return {
        "count": int(count),
        "total": int(opened),
        "totalPaid": int(paid),
        "totalCancelled": int(cancelled),
    }
