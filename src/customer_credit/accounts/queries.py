"""Queries for accounts and holders; the `lock_` ones take the row lock (FOR UPDATE)."""

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from customer_credit.accounts.models import CLOSED, OPEN, Account, Holder
from customer_credit.validation import normalize_email


def find_open(session: Session, store_id: int, public_id: str, *, lock: bool = False) -> Account | None:
    query = select(Account).where(
        Account.store_id == store_id, Account.public_id == public_id, Account.status == OPEN
    )
    if lock:
        # populate_existing: an account this session loaded earlier is reloaded with the locked
        # row's figures; otherwise the ORM hands back its old copy, and a hold committed by
        # another request in between would be missed by the credit check.
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)


def find_latest(session: Session, store_id: int, public_id: str) -> Account | None:
    """The open account with this id, else the one closed last (kept for audit)."""
    return session.scalar(
        select(Account)
        .where(Account.store_id == store_id, Account.public_id == public_id)
        .order_by((Account.status == OPEN).desc(), Account.id.desc())
        .limit(1)
    )


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
