"""Reading the ledger (statements with balances) and the manual debit ("decrease balance").

Two ways to read a window of the ledger (docs/performance.md, "Statements paging"):
`page_statements` cuts it into pages of at most STATEMENTS_PAGE entries that follow each other
by position (keyset), each with its own balances, so a page costs the same at any depth; it is
what GET …/statements serves unless `from`/`to` are sent. `list_statements` is the older
positional slice (`from`/`to`, the console's pages, the PDF), whose balances describe the whole
date window."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy import ColumnElement, case, func, select, tuple_
from sqlalchemy.orm import Session

from customer_credit.accounts import service as accounts
from customer_credit.accounts.models import Account
from customer_credit.auth.principal import Principal
from customer_credit.errors import Conflict, field_error
from customer_credit.ledger import service as ledger
from customer_credit.ledger.models import CREDIT, STATEMENT, Statement
from customer_credit.money import from_cents, to_cents
from customer_credit.paging import Window
from customer_credit.validation import clean_path_id

# Entries on a page of GET …/statements without `from`/`to`: about 100 KB of JSON.
STATEMENTS_PAGE = 500


@dataclass(frozen=True)
class StatementPosition:
    """Where a page ended: its last entry, in the ledger's order (created_at, then id), and B
    right after it. Entries are never changed and a new one sorts after those already written
    (docs/performance.md, "Statements paging", says when that fails), so that B stays true, and
    the next page starts from it instead of summing every entry before."""

    account_id: int
    created_at: datetime
    entry_id: int
    balance_after_cents: int


class LedgerEntry(Protocol):
    """What a line shows of its entry: a Statement, or a row of just these columns (a page
    of page_statements, which would spend most of its time building ORM objects otherwise)."""

    @property
    def id(self) -> int: ...
    @property
    def account_id(self) -> int: ...
    @property
    def origin(self) -> str: ...
    @property
    def value_cents(self) -> int: ...
    @property
    def done_by(self) -> str: ...
    @property
    def meta(self) -> dict: ...
    @property
    def created_at(self) -> datetime: ...


_ENTRY_COLUMNS = (
    Statement.id,
    Statement.account_id,
    Statement.origin,
    Statement.value_cents,
    Statement.done_by,
    Statement.meta,
    Statement.created_at,
)


@dataclass(frozen=True)
class StatementLine:
    entry: LedgerEntry
    # B right after this entry (a Credit entry leaves it as it was).
    balance_after_cents: int


@dataclass(frozen=True)
class StatementPage:
    account: Account
    lines: list[StatementLine]
    current_balance_cents: int
    previous_balance_cents: int
    interval_balance_cents: int
    # Entries in the date window, on every page.
    count: int
    # Where the next page starts; None when no entry of the window follows this page.
    next_position: StatementPosition | None

    @property
    def entries(self) -> list[LedgerEntry]:
        return [line.entry for line in self.lines]


def _date_window(account: Account, since: datetime | None, until: tuple[datetime, bool] | None):
    in_window: list[ColumnElement[bool]] = [Statement.account_id == account.id]
    if since is not None:
        in_window.append(Statement.created_at >= since)
    if until is not None:
        moment, inclusive = until
        in_window.append(Statement.created_at <= moment if inclusive else Statement.created_at < moment)
    return in_window


def _balance_before(session: Session, account: Account, since: datetime | None) -> int:
    if since is None:
        return 0
    return int(
        session.execute(
            select(func.coalesce(func.sum(Statement.value_cents), 0)).where(
                Statement.account_id == account.id,
                Statement.origin != CREDIT,
                Statement.created_at < since,
            )
        ).scalar_one()
    )


def _count(session: Session, in_window: list[ColumnElement[bool]]) -> int:
    return int(session.execute(select(func.count()).select_from(Statement).where(*in_window)).scalar_one())


def _position_after(line: StatementLine) -> StatementPosition:
    return StatementPosition(
        account_id=line.entry.account_id,
        created_at=line.entry.created_at,
        entry_id=line.entry.id,
        balance_after_cents=line.balance_after_cents,
    )


def page_statements(
    session: Session,
    principal: Principal,
    public_id: str,
    *,
    since: datetime | None,
    until: tuple[datetime, bool] | None,
    after: StatementPosition | None,
    limit: int = STATEMENTS_PAGE,
) -> StatementPage:
    """A page of the date window: at most `limit` entries oldest first, from `after` on (from
    the window's start without it). The balances describe this page: previousBalance is B
    before its first entry, intervalBalance the sum of its entries (Credit included), so
    previousBalance plus its non-Credit entries is the next page's previousBalance; count is
    the number of entries in the whole window."""
    account = accounts.get_account(session, principal, public_id)
    if after is not None and after.account_id != account.id:
        raise field_error("cursor", "was given for another account's statements")
    in_window = _date_window(account, since, until)
    query = select(*_ENTRY_COLUMNS).where(*in_window)
    if after is None or (since is not None and since > after.created_at):
        # The page starts where the window does (a cursor from before the window skips nothing
        # the window holds): B before it is the entries before the window.
        previous = _balance_before(session, account, since)
    else:
        previous = after.balance_after_cents
    if after is not None:
        # Keyset: served by ix_statements_account_created (account_id, created_at, id).
        query = query.where(tuple_(Statement.created_at, Statement.id) > (after.created_at, after.entry_id))
    rows = session.execute(query.order_by(Statement.created_at, Statement.id).limit(limit + 1)).all()
    lines = []
    balance = previous
    for entry in rows[:limit]:
        if entry.origin != CREDIT:
            balance += entry.value_cents
        lines.append(StatementLine(entry, balance))
    return StatementPage(
        account=account,
        lines=lines,
        current_balance_cents=account.balance_cents,
        previous_balance_cents=previous,
        interval_balance_cents=sum(line.entry.value_cents for line in lines),
        count=_count(session, in_window),
        next_position=_position_after(lines[-1]) if len(rows) > limit else None,
    )


def list_statements(
    session: Session,
    principal: Principal,
    public_id: str,
    *,
    since: datetime | None,
    until: tuple[datetime, bool] | None,
    window: Window | None,
) -> StatementPage:
    """Entries oldest first, each with the balance after it, cut by position (`window`; None
    is every entry, for callers that bound the window themselves). currentBalance is B now,
    previousBalance B before the date window, and intervalBalance the sum of the date window's
    entries (Credit entries included), whatever slice of it `window` takes. Its cost grows
    with the window's position; page_statements does not."""
    account = accounts.get_account(session, principal, public_id)
    in_window = _date_window(account, since, until)
    previous = _balance_before(session, account, since)
    interval, count = session.execute(
        select(func.coalesce(func.sum(Statement.value_cents), 0), func.count()).where(*in_window)
    ).one()
    # What each entry and those before it (within the dates asked) moved B; SQL sums this
    # before the page is cut, so a page's first line counts the entries of the pages before.
    moved_so_far = func.sum(case((Statement.origin != CREDIT, Statement.value_cents), else_=0)).over(
        order_by=(Statement.created_at, Statement.id)
    )
    query = select(Statement, moved_so_far).where(*in_window).order_by(Statement.created_at, Statement.id)
    if window is not None:
        query = query.offset(window.offset).limit(window.limit)
    lines = [StatementLine(entry, previous + int(moved)) for entry, moved in session.execute(query)]
    more = window is not None and bool(lines) and window.offset + len(lines) < int(count)
    return StatementPage(
        account=account,
        lines=lines,
        current_balance_cents=account.balance_cents,
        previous_balance_cents=previous,
        interval_balance_cents=int(interval),
        count=int(count),
        next_position=_position_after(lines[-1]) if more else None,
    )


def decrease_balance(
    session: Session,
    principal: Principal,
    public_id: str,
    statement_id: str,
    value: Decimal,
    *,
    now: datetime | None = None,
) -> Statement:
    """A manual debit of |value|. Idempotent on statementId: a repeat with the same value
    returns the first entry; with another value it is refused. `now`: the request's clock
    (the entry's date; the wall clock when not given)."""
    statement_id = clean_path_id("statementId", statement_id, max_length=100)
    amount = to_cents(abs(value))
    if amount == 0:
        raise field_error("value", "must not be zero")
    account = accounts.lock_open_account(session, principal, public_id)
    existing = session.scalar(
        select(Statement).where(Statement.account_id == account.id, Statement.external_id == statement_id)
    )
    if existing is not None:
        if existing.value_cents != -amount:
            raise Conflict(
                f"statement {statement_id} was already recorded with another value",
                code="StatementIdReused",
            )
        return existing
    entry = ledger.append_entry(
        session,
        account,
        origin=STATEMENT,
        value_cents=-amount,
        done_by=principal.name,
        meta={"statementId": statement_id},
        external_id=statement_id,
        at=now,
    )
    accounts.record_account_change(
        session,
        account,
        {"balanceDecreased": {"value": from_cents(amount), "statementId": statement_id}},
        now=now,
    )
    return entry
