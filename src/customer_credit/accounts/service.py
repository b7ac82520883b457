"""Accounts and holders: open, update, change limit and tolerance, close, search."""

import secrets
from decimal import Decimal

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from customer_credit import events
from customer_credit.accounts import queries
from customer_credit.accounts.models import CLOSED, OPEN, Account, Holder
from customer_credit.auth.principal import Principal
from customer_credit.db.base import utcnow
from customer_credit.errors import Conflict, NotFound, field_error
from customer_credit.invoices.models import OPENED, Invoice
from customer_credit.ledger import service as ledger
from customer_credit.ledger.models import CREDIT
from customer_credit.money import from_cents, rate_for_wire, rate_from_units, rate_to_units, to_cents
from customer_credit.my_credits.revocation import revoke_account_links, revoke_holder_links
from customer_credit.paging import Window
from customer_credit.stores import service as stores
from customer_credit.transactions.models import AUTHORIZED, Transaction
from customer_credit.validation import clean_email, clean_path_id, clean_text, normalize_email

DOCUMENT_TYPES = ("CPF", "CNPJ", "Other")
HOLDER_LEVEL = 2


def _check_document(document: str, document_type: str) -> tuple[str, str]:
    document = clean_path_id("document", document.strip(), max_length=50)
    if document_type not in DOCUMENT_TYPES:
        raise field_error("documentType", f"must be one of {', '.join(DOCUMENT_TYPES)}")
    return document, document_type


def _check_tolerance(tolerance: Decimal) -> int:
    if tolerance < 0 or tolerance > 1:
        raise field_error("tolerance", "must be between 0 and 1")
    return rate_to_units(tolerance)


def account_public_id(document: str, document_type: str) -> str:
    return f"{document}_{document_type}"


def get_account(session: Session, principal: Principal, public_id: str) -> Account:
    account = queries.find_latest(session, principal.store_id, public_id)
    if account is None:
        raise NotFound(f"no account {public_id}", code="AccountNotFound")
    return account


def lock_open_account(session: Session, principal: Principal, public_id: str) -> Account:
    """The open account, locked for this transaction: every money change starts here."""
    account = queries.find_open(session, principal.store_id, public_id, lock=True)
    if account is None:
        if queries.find_latest(session, principal.store_id, public_id) is not None:
            raise Conflict(f"account {public_id} is closed", code="AccountClosed")
        raise NotFound(f"no account {public_id}", code="AccountNotFound")
    return account


def open_account(
    session: Session,
    principal: Principal,
    *,
    document: str,
    document_type: str,
    email: str,
    credit_limit: Decimal | None = None,
    tolerance: Decimal | None = None,
    description: str | None = None,
    public_id: str | None = None,
) -> Account:
    document, document_type = _check_document(document, document_type)
    email = clean_email("email", email)
    if description is not None:
        description = clean_text("description", description, max_length=1000)
    public_id = public_id or account_public_id(document, document_type)
    if queries.find_open(session, principal.store_id, public_id) is not None:
        raise Conflict(f"account {public_id} is already open", code="AccountAlreadyExists")
    if credit_limit is None:
        limit_cents = stores.get_config(session, principal.store_id).default_credit_cents
    else:
        limit_cents = to_cents(credit_limit)
    tolerance_units = _check_tolerance(tolerance if tolerance is not None else Decimal(0))
    now = utcnow()
    account = Account(
        store_id=principal.store_id,
        public_id=public_id,
        document=document,
        document_type=document_type,
        email=email,
        description=description,
        credit_limit_cents=limit_cents,
        tolerance_units=tolerance_units,
        initial_credit_limit_cents=limit_cents,
        initial_tolerance_units=tolerance_units,
        balance_cents=0,
        pre_authorized_cents=0,
        status=OPEN,
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    session.flush()
    events.record(session, events.ACCOUNT_OPENED, account=account)
    return account


def update_account(
    session: Session,
    principal: Principal,
    public_id: str,
    *,
    email: str,
    document: str,
    document_type: str,
    credit_limit: Decimal | None = None,
    tolerance: Decimal | None = None,
) -> Account:
    """Replaces the contact fields; the public id stays what it was, so links keep working."""
    account = lock_open_account(session, principal, public_id)
    account.document, account.document_type = _check_document(document, document_type)
    account.email = clean_email("email", email)
    if credit_limit is not None:
        _set_credit_limit(session, account, credit_limit, principal)
    if tolerance is not None:
        _set_tolerance(session, account, tolerance, principal)
    account.updated_at = utcnow()
    events.record(session, events.ACCOUNT_CHANGED, account=account)
    return account


def _set_credit_limit(session: Session, account: Account, value: Decimal, principal: Principal) -> None:
    new_limit = to_cents(value)
    if new_limit == account.credit_limit_cents:
        return
    ledger.append_entry(
        session,
        account,
        origin=CREDIT,
        value_cents=ledger.credit_limit_change_cents(
            account.credit_limit_cents, new_limit, account.tolerance_units
        ),
        done_by=principal.name,
        meta={
            "creditLimit": {
                "from": str(from_cents(account.credit_limit_cents)),
                "to": str(from_cents(new_limit)),
            },
            "tolerance": str(rate_from_units(account.tolerance_units)),
        },
    )
    previous_limit = account.credit_limit_cents
    account.credit_limit_cents = new_limit
    events.record(
        session,
        events.CREDIT_LIMIT_CHANGED,
        account=account,
        changes={"creditLimit": {"from": from_cents(previous_limit), "to": from_cents(new_limit)}},
    )


def _set_tolerance(session: Session, account: Account, value: Decimal, principal: Principal) -> None:
    new_units = _check_tolerance(value)
    if new_units == account.tolerance_units:
        return
    ledger.append_entry(
        session,
        account,
        origin=CREDIT,
        value_cents=ledger.tolerance_change_cents(
            account.credit_limit_cents, account.tolerance_units, new_units
        ),
        done_by=principal.name,
        meta={
            "tolerance": {
                "from": str(rate_from_units(account.tolerance_units)),
                "to": str(rate_from_units(new_units)),
            },
            "creditLimit": str(from_cents(account.credit_limit_cents)),
        },
    )
    previous_units = account.tolerance_units
    account.tolerance_units = new_units
    events.record(
        session,
        events.ACCOUNT_CHANGED,
        account=account,
        changes={
            "tolerance": {
                "from": rate_for_wire(rate_from_units(previous_units)),
                "to": rate_for_wire(rate_from_units(new_units)),
            }
        },
    )


def change_credit_limit(session: Session, principal: Principal, public_id: str, value: Decimal) -> Account:
    account = lock_open_account(session, principal, public_id)
    _set_credit_limit(session, account, value, principal)
    account.updated_at = utcnow()
    return account


def change_tolerance(session: Session, principal: Principal, public_id: str, value: Decimal) -> Account:
    account = lock_open_account(session, principal, public_id)
    _set_tolerance(session, account, value, principal)
    account.updated_at = utcnow()
    return account


def close_account(
    session: Session,
    principal: Principal,
    public_id: str,
    *,
    document: str | None = None,
    document_type: str | None = None,
    email: str | None = None,
) -> Account:
    account = lock_open_account(session, principal, public_id)
    expected = {"document": account.document, "documentType": account.document_type}
    for field, sent in (("document", document), ("documentType", document_type)):
        if sent is not None and sent != expected[field]:
            raise Conflict(f"{field} does not match the account", code="AccountMismatch")
    if email is not None and normalize_email(email) != normalize_email(account.email):
        raise Conflict("email does not match the account", code="AccountMismatch")
    open_invoices = session.scalar(
        select(exists().where(Invoice.account_id == account.id, Invoice.status == OPENED))
    )
    live_holds = session.scalar(
        select(exists().where(Transaction.account_id == account.id, Transaction.status == AUTHORIZED))
    )
    if open_invoices or live_holds:
        raise Conflict(
            "the account has open invoices or live holds; settle or cancel them first",
            code="AccountHasOpenDebt",
        )
    if account.balance_cents < 0:
        # A manual debit is a debt too: closing would silently drop the receivable.
        raise Conflict(
            f"the account owes {from_cents(-account.balance_cents)} (negative balance); "
            "it cannot be closed until that is paid",
            code="AccountOwesMoney",
        )
    now = utcnow()
    account.status = CLOSED
    account.closed_at = now
    account.updated_at = now
    for holder in queries.active_holders(session, account.id):
        holder.removed_at = now
    revoke_account_links(session, account, now)
    events.record(session, events.ACCOUNT_CLOSED, account=account)
    return account


def search_accounts(
    session: Session,
    principal: Principal,
    *,
    window: Window,
    status: str | None = None,
    email: str | None = None,
) -> tuple[list[Account], int]:
    query = queries.search(principal.store_id, status=status, email=email)
    total = queries.count(session, query)
    page = session.scalars(
        query.order_by(Account.created_at, Account.id).offset(window.offset).limit(window.limit)
    )
    return list(page), total


def add_holder(session: Session, principal: Principal, public_id: str, email: str) -> Holder:
    account = lock_open_account(session, principal, public_id)
    email = clean_email("claims.email", email)
    if email == normalize_email(account.email):
        raise Conflict("this e-mail owns the account already", code="HolderAlreadyExists")
    if queries.find_active_holder_by_email(session, principal.store_id, email) is not None:
        raise Conflict("this e-mail already holds an open account in this store", code="HolderAlreadyExists")
    holder = Holder(
        store_id=principal.store_id,
        account_id=account.id,
        public_id=secrets.token_hex(16),
        email=email,
        level=HOLDER_LEVEL,
        created_at=utcnow(),
    )
    session.add(holder)
    account.updated_at = utcnow()
    session.flush()
    events.record(
        session,
        events.ACCOUNT_CHANGED,
        account=account,
        changes={"holderAdded": {"id": holder.public_id, "email": holder.email}},
    )
    return holder


def remove_holder(session: Session, principal: Principal, public_id: str, holder_id: str) -> Holder:
    account = lock_open_account(session, principal, public_id)
    holder = session.scalar(
        select(Holder).where(Holder.account_id == account.id, Holder.public_id == holder_id)
    )
    if holder is None:
        raise NotFound(f"no holder {holder_id} on account {public_id}", code="HolderNotFound")
    if holder.removed_at is None:
        holder.removed_at = utcnow()
        revoke_holder_links(session, holder, holder.removed_at)
        account.updated_at = utcnow()
        events.record(
            session,
            events.ACCOUNT_CHANGED,
            account=account,
            changes={"holderRemoved": {"id": holder.public_id, "email": holder.email}},
        )
    return holder


def holders_of(session: Session, account: Account) -> list[Holder]:
    return queries.active_holders(session, account.id)
