"""Accounts and holders: open, update, change limit and tolerance, close, search."""

import secrets
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from customer_credit import events
from customer_credit.accounts import queries
from customer_credit.accounts.models import CLOSED, OPEN, Account, Holder
from customer_credit.auth.principal import Principal
from customer_credit.db.base import utcnow
from customer_credit.errors import Conflict, NotFound, field_error
from customer_credit.i18n import N_
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
    return document, _check_document_type(document_type)


def _check_document_type(document_type: str) -> str:
    if document_type not in DOCUMENT_TYPES:
        raise field_error("documentType", f"must be one of {', '.join(DOCUMENT_TYPES)}")
    return document_type


def _check_tolerance(tolerance: Decimal) -> int:
    if tolerance < 0 or tolerance > 1:
        raise field_error("tolerance", "must be between 0 and 1")
    return rate_to_units(tolerance)


def _check_description(description: str | None) -> str | None:
    return None if description is None else clean_text("description", description, max_length=1000)


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
    now: datetime | None = None,
) -> Account:
    document, document_type = _check_document(document, document_type)
    email = clean_email("email", email)
    description = _check_description(description)
    public_id = public_id or account_public_id(document, document_type)
    if queries.find_open(session, principal.store_id, public_id) is not None:
        raise Conflict(f"account {public_id} is already open", code="AccountAlreadyExists")
    if credit_limit is None:
        limit_cents = stores.get_config(session, principal.store_id).default_credit_cents
    else:
        limit_cents = to_cents(credit_limit)
    tolerance_units = _check_tolerance(tolerance if tolerance is not None else Decimal(0))
    now = now or utcnow()
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


def split_public_id(public_id: str) -> tuple[str, str] | None:
    """(document, documentType) of an id in the `{document}_{documentType}` form, else None."""
    document, separator, document_type = public_id.rpartition("_")
    if not separator or not document or document_type not in DOCUMENT_TYPES:
        return None
    return document, document_type


def open_automatically(
    session: Session, principal: Principal, public_id: str, email: str, *, now: datetime | None = None
) -> Account | None:
    """Opens the account a purchase names when the store's automaticCheckingAccountCreationEnabled
    is on and no account ever had this id (a closed one is not reopened behind the store's
    back), with the store's defaultCreditValue. Returns the new account, or None."""
    if not stores.get_config(session, principal.store_id).automatic_account_creation_enabled:
        return None
    if queries.find_latest(session, principal.store_id, public_id) is not None:
        return None
    parts = split_public_id(public_id)
    if parts is None:
        raise NotFound(
            f"no account {public_id}; an account is opened automatically only for an id of the form "
            "{document}_{documentType}",
            code="AccountNotFound",
        )
    document, document_type = parts
    return open_account(
        session,
        principal,
        document=document,
        document_type=document_type,
        email=email,
        public_id=public_id,
        now=now,
    )


def find_open_by_email(session: Session, store_id: int, email: str) -> Account | None:
    """The open account this e-mail owns or holds; the oldest if it owns several."""
    wanted = normalize_email(email)
    owned = session.scalar(
        select(Account)
        .where(Account.store_id == store_id, Account.status == OPEN, func.lower(Account.email) == wanted)
        .order_by(Account.id)
        .limit(1)
    )
    if owned is not None:
        return owned
    holder = queries.find_active_holder_by_email(session, store_id, wanted)
    if holder is None:
        return None
    return session.scalar(select(Account).where(Account.id == holder.account_id, Account.status == OPEN))


class _Keep(Enum):
    KEEP = "keep"


KEEP = _Keep.KEEP  # a field left as it is, where None would mean "clear it"


def update_account(
    session: Session,
    principal: Principal,
    public_id: str,
    *,
    email: str | None = None,
    document: str | None = None,
    document_type: str | None = None,
    credit_limit: Decimal | None = None,
    tolerance: Decimal | None = None,
    description: str | None | _Keep = KEEP,
    now: datetime | None = None,
) -> Account:
    """Changes the fields given (None keeps one, a description of None clears it); the public id
    stays what it was, so links keep working."""
    account = lock_open_account(session, principal, public_id)
    if document is not None or document_type is not None:
        account.document, account.document_type = _check_document(
            account.document if document is None else document,
            account.document_type if document_type is None else document_type,
        )
    if email is not None:
        account.email = clean_email("email", email)
    if description is not KEEP:
        account.description = _check_description(description)
    now = now or utcnow()
    if credit_limit is not None:
        _set_credit_limit(session, account, credit_limit, principal, now)
    if tolerance is not None:
        _set_tolerance(session, account, tolerance, principal, now)
    account.updated_at = now
    events.record(session, events.ACCOUNT_CHANGED, account=account)
    return account


def put_account(
    session: Session,
    principal: Principal,
    public_id: str,
    sent: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> Account:
    """PUT /accounts/{id}. Three bodies are accepted, told apart by the fields sent (docs/clients.md):
    - with `id`: "open or change", from VTEX's older spec: opens the account under that id if
      it is not open, else changes it;
    - with `document` or `documentType`: the contract's update (email, document, documentType);
    - otherwise: the older "update e-mail and description": changes the fields sent.
    creditLimit, tolerance and description may come with any of them."""
    if "id" in sent:
        return _open_or_change(session, principal, public_id, sent, now)
    if "document" in sent or "documentType" in sent:
        required: tuple[str, ...] = ("email", "document", "documentType")
    elif sent.keys() & {"email", "description", "creditLimit", "tolerance"}:
        required = ()
    else:
        raise field_error("email", "is required (or description, or the whole account)")
    return update_account(
        session,
        principal,
        public_id,
        email=_field(sent, "email", required=required),
        document=_field(sent, "document", required=required),
        document_type=_field(sent, "documentType", required=required),
        credit_limit=sent.get("creditLimit"),
        tolerance=sent.get("tolerance"),
        description=sent.get("description", KEEP),
        now=now,
    )


def _field(sent: Mapping[str, Any], name: str, *, required: tuple[str, ...] = ()) -> Any:
    """A field that has no null: absent is None (a 400 if required), null is always a 400."""
    if name not in sent:
        if name in required:
            raise field_error(name, "is required")
        return None
    if sent[name] is None:
        raise field_error(name, "must not be null")
    return sent[name]


def _open_or_change(
    session: Session, principal: Principal, public_id: str, sent: Mapping[str, Any], now: datetime | None
) -> Account:
    if _field(sent, "id") != public_id:
        raise field_error("id", "must be the account id of the path")
    required = ("email", "document")
    email = _field(sent, "email", required=required)
    document = _field(sent, "document", required=required)
    existing = queries.find_open(session, principal.store_id, public_id, lock=True)
    document_type = _field(sent, "documentType") or _legacy_document_type(public_id, document, existing)
    if existing is not None:
        return update_account(
            session,
            principal,
            public_id,
            email=email,
            document=document,
            document_type=document_type,
            credit_limit=sent.get("creditLimit"),
            tolerance=sent.get("tolerance"),
            description=sent.get("description", KEEP),
            now=now,
        )
    return open_account(
        session,
        principal,
        public_id=clean_path_id("id", public_id, max_length=200),
        document=document,
        document_type=document_type,
        email=email,
        credit_limit=sent.get("creditLimit"),
        tolerance=sent.get("tolerance"),
        description=sent.get("description"),
        now=now,
    )


def _legacy_document_type(public_id: str, document: str, existing: Account | None) -> str:
    """The "open or change" body has no documentType. An id of the form {document}_{TYPE} (the
    form domain.md gives API accounts) names it; else an open account keeps its own; else the
    contract's catch-all, Other: a CPF or CNPJ is never guessed from the digits."""
    for document_type in DOCUMENT_TYPES:
        if public_id == account_public_id(document.strip(), document_type):
            return document_type
    return existing.document_type if existing is not None else "Other"


def _set_credit_limit(
    session: Session, account: Account, value: Decimal, principal: Principal, now: datetime
) -> None:
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
        at=now,
    )
    previous_limit = account.credit_limit_cents
    account.credit_limit_cents = new_limit
    events.record(
        session,
        events.CREDIT_LIMIT_CHANGED,
        account=account,
        changes={"creditLimit": {"from": from_cents(previous_limit), "to": from_cents(new_limit)}},
    )


def _set_tolerance(
    session: Session, account: Account, value: Decimal, principal: Principal, now: datetime
) -> None:
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
        at=now,
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


def change_credit_limit(
    session: Session, principal: Principal, public_id: str, value: Decimal, *, now: datetime | None = None
) -> Account:
    account = lock_open_account(session, principal, public_id)
    now = now or utcnow()
    _set_credit_limit(session, account, value, principal, now)
    account.updated_at = now
    return account


def change_tolerance(
    session: Session, principal: Principal, public_id: str, value: Decimal, *, now: datetime | None = None
) -> Account:
    account = lock_open_account(session, principal, public_id)
    now = now or utcnow()
    _set_tolerance(session, account, value, principal, now)
    account.updated_at = now
    return account


def closing_refusal(session: Session, account: Account) -> Conflict | None:
    """Why the account cannot be closed now, or None: the one rule `close_account` enforces
    and the console shows beside its disabled button."""
    open_invoices = session.scalar(
        select(exists().where(Invoice.account_id == account.id, Invoice.status == OPENED))
    )
    live_holds = session.scalar(
        select(exists().where(Transaction.account_id == account.id, Transaction.status == AUTHORIZED))
    )
    if open_invoices or live_holds:
        return Conflict(
            N_("the account has open invoices or live holds; settle or cancel them first"),
            code="AccountHasOpenDebt",
        )
    if account.balance_cents < 0:
        # A manual debit is a debt too: closing would silently drop the receivable.
        return Conflict(
            f"the account owes {from_cents(-account.balance_cents)} (negative balance); "
            "it cannot be closed until that is paid",
            code="AccountOwesMoney",
        )
    return None


def close_account(
    session: Session,
    principal: Principal,
    public_id: str,
    *,
    document: str | None = None,
    document_type: str | None = None,
    email: str | None = None,
    now: datetime | None = None,
) -> Account:
    account = lock_open_account(session, principal, public_id)
    expected = {"document": account.document, "documentType": account.document_type}
    for field, sent in (("document", document), ("documentType", document_type)):
        if sent is not None and sent != expected[field]:
            raise Conflict(f"{field} does not match the account", code="AccountMismatch")
    if email is not None and normalize_email(email) != normalize_email(account.email):
        raise Conflict("email does not match the account", code="AccountMismatch")
    refusal = closing_refusal(session, account)
    if refusal is not None:
        raise refusal
    now = now or utcnow()
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
    document: str | None = None,
    document_type: str | None = None,
) -> tuple[list[Account], int]:
    if document_type:
        _check_document_type(document_type)
    query = queries.search(
        principal.store_id, status=status, email=email, document=document, document_type=document_type
    )
    total = queries.count(session, query)
    page = session.scalars(
        query.order_by(Account.created_at, Account.id).offset(window.offset).limit(window.limit)
    )
    return list(page), total


def record_account_change(
    session: Session, account: Account, changes: dict, *, now: datetime | None = None
) -> None:
    """Touches the account and records ACCOUNT_CHANGED. Flushes first: the event is written at
    once (a Core insert), and must follow the rows of the change it describes."""
    account.updated_at = now or utcnow()
    session.flush()
    events.record(session, events.ACCOUNT_CHANGED, account=account, changes=changes)


def add_holder(
    session: Session, principal: Principal, public_id: str, email: str, *, now: datetime | None = None
) -> Holder:
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
        created_at=now or utcnow(),
    )
    session.add(holder)
    record_account_change(
        session,
        account,
        {"holderAdded": {"id": holder.public_id, "email": holder.email}},
        now=holder.created_at,
    )
    return holder


def remove_holder(
    session: Session, principal: Principal, public_id: str, holder_id: str, *, now: datetime | None = None
) -> Holder:
    account = lock_open_account(session, principal, public_id)
    holder = session.scalar(
        select(Holder).where(Holder.account_id == account.id, Holder.public_id == holder_id)
    )
    if holder is None:
        raise NotFound(f"no holder {holder_id} on account {public_id}", code="HolderNotFound")
    if holder.removed_at is None:
        holder.removed_at = now or utcnow()
        revoke_holder_links(session, holder, holder.removed_at)
        account.updated_at = holder.removed_at
        events.record(
            session,
            events.ACCOUNT_CHANGED,
            account=account,
            changes={"holderRemoved": {"id": holder.public_id, "email": holder.email}},
        )
    return holder


def holders_of(session: Session, account: Account) -> list[Holder]:
    return queries.active_holders(session, account.id)
