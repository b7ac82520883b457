"""Read-only queries the console adds on top of the domains' own: free-text account search,
the dashboard's totals and an account's transactions."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from customer_credit.accounts import queries as account_queries
from customer_credit.accounts.figures import available_credit_cents, available_credit_sql
from customer_credit.accounts.models import OPEN, Account, Holder
from customer_credit.invoices.models import OPENED, Invoice
from customer_credit.invoices.overdue_days import is_overdue, overdue_condition
from customer_credit.ledger.models import PAYMENT, Statement
from customer_credit.transactions.models import Transaction

MAX_TEXT = 200
EXPIRED = "Expired"


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


def _near_limit(account: Account) -> NearLimit:
    available = available_credit_cents(account)
    used_percent = (account.credit_limit_cents - available) * 100 // account.credit_limit_cents
    return NearLimit(account, available, used_percent)


def _owed(session: Session, store_id: int, *conditions) -> Bucket:
    found, owed = session.execute(
        select(func.count(), func.coalesce(func.sum(Invoice.value_cents - Invoice.paid_cents), 0)).where(
            Invoice.store_id == store_id, Invoice.status == OPENED, *conditions
        )
    ).one()
    return Bucket(int(found), int(owed))


def dashboard(session: Session, store_id: int, *, now: datetime, month_start: datetime) -> Dashboard:
    paid = session.execute(
        select(func.coalesce(func.sum(Statement.value_cents), 0)).where(
            Statement.store_id == store_id,
            Statement.origin == PAYMENT,
            Statement.created_at >= month_start,
        )
    ).scalar_one()
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
        owed=_owed(session, store_id),
        overdue=_owed(session, store_id, overdue_condition(now)),
        due_soon=_owed(session, store_id, Invoice.due_at >= now, Invoice.due_at < now + timedelta(days=7)),
        paid_this_month_cents=int(paid),
        open_accounts=count(session, account_queries.search(store_id, status=OPEN, email=None)),
        nearest_limit=nearest,
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
