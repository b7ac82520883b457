"""Reading the ledger (statements with balances) and the manual debit ("decrease balance")."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, func, select
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


@dataclass(frozen=True)
class StatementLine:
    entry: Statement
    # B right after this entry (a Credit entry leaves it as it was).
    balance_after_cents: int


@dataclass(frozen=True)
class StatementPage:
    account: Account
    lines: list[StatementLine]
    current_balance_cents: int
    previous_balance_cents: int
    interval_balance_cents: int
    count: int

    @property
    def entries(self) -> list[Statement]:
        return [line.entry for line in self.lines]


def list_statements(
    session: Session,
    principal: Principal,
    public_id: str,
    *,
    since: datetime | None,
    until: tuple[datetime, bool] | None,
    window: Window | None,
) -> StatementPage:
    """Entries oldest first, each with the balance after it. currentBalance is B now,
    previousBalance B before the window, and intervalBalance the sum of the window's entries
    (Credit entries included)."""
    account = accounts.get_account(session, principal, public_id)
    in_window = [Statement.account_id == account.id]
    if since is not None:
        in_window.append(Statement.created_at >= since)
    if until is not None:
        moment, inclusive = until
        in_window.append(Statement.created_at <= moment if inclusive else Statement.created_at < moment)
    previous = 0
    if since is not None:
        previous = session.execute(
            select(func.coalesce(func.sum(Statement.value_cents), 0)).where(
                Statement.account_id == account.id,
                Statement.origin != CREDIT,
                Statement.created_at < since,
            )
        ).scalar_one()
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
    return StatementPage(
        account=account,
        lines=[StatementLine(entry, int(previous) + int(moved)) for entry, moved in session.execute(query)],
        current_balance_cents=account.balance_cents,
        previous_balance_cents=int(previous),
        interval_balance_cents=int(interval),
        count=int(count),
    )


def decrease_balance(
    session: Session, principal: Principal, public_id: str, statement_id: str, value: Decimal
) -> Statement:
    """A manual debit of |value|. Idempotent on statementId: a repeat with the same value
    returns the first entry; with another value it is refused."""
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
    )
    accounts.record_account_change(
        session, account, {"balanceDecreased": {"value": from_cents(amount), "statementId": statement_id}}
    )
    return entry
