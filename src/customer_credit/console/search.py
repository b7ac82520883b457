"""Read-only queries the console adds on top of the domains' own: free-text account search,
the dashboard's totals, an account's transactions, and the running balance of statements."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from customer_credit.accounts import queries as account_queries
from customer_credit.accounts.models import OPEN, Account, Holder
from customer_credit.invoices.models import OPENED, Invoice
from customer_credit.ledger.models import CREDIT, PAYMENT, Statement
from customer_credit.transactions.models import Transaction

MAX_TEXT = 200
EXPIRED = "Expired"


def display_status(invoice: Invoice, now: datetime) -> str:
    """The console's word for an invoice: "Expired" is an Opened one past its due date (the
    API's status stays Opened)."""
    return EXPIRED if invoice.status == OPENED and invoice.due_at < now else invoice.status


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
class Dashboard:
    owed: Bucket
    overdue: Bucket
    due_soon: Bucket
    paid_this_month_cents: int
    open_accounts: int
    nearest_limit: list[Account]


def _owed(session: Session, store_id: int, *conditions) -> Bucket:
    found, owed = session.execute(
        select(func.count(), func.coalesce(func.sum(Invoice.value_cents - Invoice.paid_cents), 0)).where(
            Invoice.store_id == store_id, Invoice.status == OPENED, *conditions
        )
    ).one()
    return Bucket(int(found), int(owed))


def dashboard(session: Session, store_id: int, *, now: datetime, month_start: datetime) -> Dashboard:
    paid = session.scalar(
        select(func.coalesce(func.sum(Statement.value_cents), 0)).where(
            Statement.store_id == store_id,
            Statement.origin == PAYMENT,
            Statement.created_at >= month_start,
        )
    )
    limited = and_(Account.store_id == store_id, Account.status == OPEN, Account.credit_limit_cents > 0)
    # Ordered by the share of the limit still available, in basis points (integers, no floats).
    available_share = (
        (Account.credit_limit_cents + Account.balance_cents - Account.pre_authorized_cents) * 10000
    ) / Account.credit_limit_cents
    nearest = list(
        session.scalars(select(Account).where(limited).order_by(available_share, Account.id).limit(5))
    )
    return Dashboard(
        owed=_owed(session, store_id),
        overdue=_owed(session, store_id, Invoice.due_at < now),
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


def balance_before(session: Session, account: Account, offset: int) -> int:
    """B after the first `offset` entries (oldest first): where a page of statements starts."""
    if offset <= 0:
        return 0
    first = (
        select(Statement.value_cents, Statement.origin)
        .where(Statement.account_id == account.id)
        .order_by(Statement.created_at, Statement.id)
        .limit(offset)
        .subquery()
    )
    return int(
        session.scalar(
            select(func.coalesce(func.sum(first.c.value_cents), 0)).where(first.c.origin != CREDIT)
        )
    )
