"""Queries for accounts and holders; the `lock_` ones take the row lock (FOR UPDATE)."""

from typing import cast

from sqlalchemy import Connection, Row, Select, Table, and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session

from customer_credit.accounts.models import CLOSED, OPEN, Account, Holder
from customer_credit.validation import normalize_email

# The statements every money request and every account read runs are built once, with bound
# parameters: building a statement and its cache key costs more CPU than running it
# (docs/performance.md, Hot paths).
_OPEN = select(Account).where(
    Account.store_id == bindparam("store_id"),
    Account.public_id == bindparam("public_id"),
    Account.status == OPEN,
)
# populate_existing: an account this session loaded earlier is reloaded with the locked row's
# figures; otherwise the ORM hands back its old copy, and a hold committed by another request in
# between would be missed by the credit check.
_OPEN_LOCKED = _OPEN.with_for_update().execution_options(populate_existing=True)


def _latest(columns):
    """The open account with this id, else the one closed last (kept for audit)."""
    return (
        select(columns)
        .where(Account.store_id == bindparam("store_id"), Account.public_id == bindparam("public_id"))
        .order_by((Account.status == OPEN).desc(), Account.id.desc())
        .limit(1)
    )


_LATEST = _latest(Account)
# The same row as plain columns, for a read that only shows it (no ORM object).
_LATEST_ROW = _latest(cast(Table, Account.__table__))


def find_open(session: Session, store_id: int, public_id: str, *, lock: bool = False) -> Account | None:
    return session.scalar(_OPEN_LOCKED if lock else _OPEN, {"store_id": store_id, "public_id": public_id})


def find_latest(session: Session, store_id: int, public_id: str) -> Account | None:
    """The open account with this id, else the one closed last (kept for audit)."""
    return session.scalar(_LATEST, {"store_id": store_id, "public_id": public_id})


def read_latest(connection: Connection, store_id: int, public_id: str) -> Row | None:
    """find_latest's row as columns named like Account's attributes, on a plain connection."""
    return connection.execute(_LATEST_ROW, {"store_id": store_id, "public_id": public_id}).first()


def active_holders(session: Session, account_id: int) -> list[Holder]:
    return list(
        session.scalars(
            select(Holder)
            .where(Holder.account_id == account_id, Holder.removed_at.is_(None))
            .order_by(Holder.id)
        )
    )


def find_active_holder_by_email(session: Session, store_id: int, email: str) -> Holder | None:
    return session.scalar(
        select(Holder).where(Holder.store_id == store_id, Holder.email == email, Holder.removed_at.is_(None))
    )


def search(
    store_id: int,
    *,
    status: str | None,
    email: str | None,
    document: str | None = None,
    document_type: str | None = None,
) -> Select:
    conditions = [Account.store_id == store_id, Account.status == (status or OPEN)]
    if document:
        conditions.append(Account.document == document)
    if document_type:
        conditions.append(Account.document_type == document_type)
    if email:
        held = exists().where(
            and_(
                Holder.account_id == Account.id,
                Holder.removed_at.is_(None),
                func.lower(Holder.email) == normalize_email(email),
            )
        )
        conditions.append(or_(func.lower(Account.email) == normalize_email(email), held))
    return select(Account).where(*conditions)


def count(session: Session, query: Select) -> int:
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


__all__ = ["CLOSED", "OPEN"]
