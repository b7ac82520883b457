"""Purchases on credit: holds (pre-authorizations), settlements and refunds.

Every function here changes money: it locks the account row first, then the transaction row,
and writes its ledger entry in the same database transaction."""

import secrets
from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from customer_credit import events
from customer_credit.accounts import service as accounts
from customer_credit.accounts.figures import available_credit_cents
from customer_credit.accounts.models import Account
from customer_credit.auth.principal import Principal
from customer_credit.credit_control import overdue_policy
from customer_credit.db.base import utcnow
from customer_credit.errors import Conflict, NotFound, field_error
from customer_credit.invoices import issuing
from customer_credit.ledger import service as ledger
from customer_credit.ledger.models import INVOICE
from customer_credit.money import RATE_SCALE, from_cents, to_cents
from customer_credit.payment_conditions import service as payment_conditions
from customer_credit.payment_conditions.service import Schedule
from customer_credit.stores import service as stores
from customer_credit.transactions import returns
from customer_credit.transactions.models import (
    AUTHORIZED,
    CANCELLED,
    EXPIRED,
    SETTLED,
    Transaction,
)
from customer_credit.validation import clean_path_id, clean_text

MAX_INSTALLMENTS = 99


def new_transaction_id() -> str:
    return secrets.token_hex(16).upper()


def _check_installments(installments: int) -> int:
    if not 1 <= installments <= MAX_INSTALLMENTS:
        raise field_error("installments", f"must be between 1 and {MAX_INSTALLMENTS}")
    return installments


def _positive_cents(field: str, value: Decimal) -> int:
    cents = to_cents(value)
    if cents <= 0:
        raise field_error(field, "must be greater than 0")
    return cents


# Built once, with bound parameters: building a statement costs more CPU than running it
# (docs/performance.md, Hot paths).
_TRANSACTION = select(Transaction).where(
    Transaction.store_id == bindparam("store_id"), Transaction.public_id == bindparam("public_id")
)
_TRANSACTION_LOCKED = _TRANSACTION.with_for_update()


def _find_transaction(
    session: Session, account: Account, transaction_id: str, *, lock: bool
) -> Transaction | None:
    transaction = session.scalar(
        _TRANSACTION_LOCKED if lock else _TRANSACTION,
        {"store_id": account.store_id, "public_id": transaction_id},
    )
    if transaction is not None and transaction.account_id != account.id:
        raise NotFound(f"no transaction {transaction_id} on this account", code="TransactionNotFound")
    return transaction


def _get_transaction(session: Session, account: Account, transaction_id: str) -> Transaction:
    transaction = _find_transaction(session, account, transaction_id, lock=True)
    if transaction is None:
        raise NotFound(f"no transaction {transaction_id}", code="TransactionNotFound")
    return transaction


def _lock_transaction(
    session: Session, principal: Principal, account_public_id: str, transaction_id: str
) -> tuple[Account, Transaction]:
    """The open account and its transaction, both locked in that order (see the module's docstring)."""
    account = accounts.lock_open_account(session, principal, account_public_id)
    return account, _get_transaction(session, account, transaction_id)


def _release_hold(account: Account, transaction: Transaction, status: str, at: datetime) -> None:
    account.pre_authorized_cents -= transaction.hold_cents
    transaction.hold_cents = 0
    transaction.status = status
    transaction.updated_at = at
    account.updated_at = at


def _expire_if_due(session: Session, account: Account, transaction: Transaction, now: datetime) -> None:
    """A hold past its expiration falls off even before the worker gets to it."""
    if (
        transaction.status == AUTHORIZED
        and transaction.expires_at is not None
        and transaction.expires_at <= now
    ):
        _release_hold(account, transaction, EXPIRED, now)
        events.record(
            session,
            events.TRANSACTION_EXPIRED,
            account=account,
            transaction=transaction,
        )


def _ensure_within_growth_limit(
    session: Session, principal: Principal, transaction: Transaction, cents: int, refusal: str
) -> None:
    """A hold, or its settlement, may reach original × (1 + maxPreAuthorizationGrowthRate),
    rounded down: a value fits only within the exact product. `refusal` says what was refused."""
    growth_units = stores.get_config(session, principal.store_id).growth_rate_units
    if cents > transaction.original_hold_cents * (RATE_SCALE + growth_units) // RATE_SCALE:
        raise Conflict(refusal, code="GrowthLimitExceeded")


def _ensure_credit_for(session: Session, principal: Principal, account: Account, needed: int) -> None:
    """A new hold, or the growth of one, must fit in availableCredit + L × t (t counts only when
    the store has tolerance enabled). L × t is rounded down: an amount fits only within the
    exact product."""
    ceiling = available_credit_cents(account)
    if stores.get_config(session, principal.store_id).tolerance_enabled:
        ceiling += account.credit_limit_cents * account.tolerance_units // RATE_SCALE
    if needed > ceiling:
        raise Conflict(
            f"insufficient credit: {from_cents(needed)} asked, {from_cents(max(ceiling, 0))} available",
            code="InsufficientCredit",
        )


def create_hold(
    session: Session,
    principal: Principal,
    account_public_id: str,
    *,
    value: Decimal,
    settle: bool,
    installments: int,
    expires_at: datetime | None = None,
    order_id: str | None = None,
    transaction_id: str | None = None,
    open_for_email: str | None = None,
    payment_id: str | None = None,
    order_reference: str | None = None,
    over_limit_approved: bool = False,
    now: datetime | None = None,
) -> Transaction:
    """`open_for_email`: when no account ever had this id and the store has automatic account
    creation on, one is opened for that e-mail first (accounts.open_automatically).
    `over_limit_approved`: an operator approved this purchase beyond the available credit
    (checkout's manual review); the credit check is skipped, nothing else is."""
    cents = _positive_cents("value", value)
    _check_installments(installments)
    now = now or utcnow()
    if expires_at is not None and expires_at <= now:
        raise field_error("expirationDate", "must be in the future")
    if order_id is not None:
        order_id = clean_text("orderId", order_id, max_length=200, allow_newlines=False)
    if open_for_email is not None:
        accounts.open_automatically(session, principal, account_public_id, open_for_email, now=now)
    account = accounts.lock_open_account(session, principal, account_public_id)
    if transaction_id is None:
        transaction_id = new_transaction_id()
    # Before the credit check: a purchase the overdue policy blocks is refused, never put
    # under manual review (checkout reviews only InsufficientCredit).
    overdue_flag_days = overdue_policy.check_new_hold(session, principal, account, now)
    if not over_limit_approved:
        _ensure_credit_for(session, principal, account, cents)
    transaction = Transaction(
        store_id=principal.store_id,
        account_id=account.id,
        public_id=transaction_id,
        order_id=order_id,
        payment_id=payment_id,
        order_reference=order_reference,
        settle=settle,
        installments=installments,
        hold_cents=cents,
        original_hold_cents=cents,
        settled_cents=0,
        refunded_cents=0,
        refund_excess_cents=0,
        interest_cents=0,
        status=AUTHORIZED,
        expires_at=expires_at,
        overdue_flag_days=overdue_flag_days,
        created_at=now,
        updated_at=now,
    )
    account.pre_authorized_cents += cents
    account.updated_at = now
    session.add(transaction)
    session.flush()
    events.record(
        session,
        events.TRANSACTION_AUTHORIZED,
        account=account,
        transaction=transaction,
        changes=None if overdue_flag_days is None else {"overdueFlag": {"daysOverdue": overdue_flag_days}},
    )
    return transaction


def put_hold(
    session: Session,
    principal: Principal,
    account_public_id: str,
    transaction_id: str,
    *,
    value: Decimal,
    settle: bool,
    installments: int,
    expires_at: datetime | None = None,
    order_id: str | None = None,
    open_for_email: str | None = None,
    now: datetime | None = None,
) -> Transaction:
    """Creates the hold under the caller's id, or updates it while it is live."""
    transaction_id = clean_path_id("transactionId", transaction_id, max_length=64)
    if open_for_email is not None:
        accounts.open_automatically(session, principal, account_public_id, open_for_email, now=now)
    account = accounts.lock_open_account(session, principal, account_public_id)
    transaction = _find_transaction(session, account, transaction_id, lock=True)
    if transaction is None:
        return create_hold(
            session,
            principal,
            account_public_id,
            value=value,
            settle=settle,
            installments=installments,
            expires_at=expires_at,
            order_id=order_id,
            transaction_id=transaction_id,
            now=now,
        )
    cents = _positive_cents("value", value)
    _check_installments(installments)
    now = now or utcnow()
    _expire_if_due(session, account, transaction, now)
    if transaction.status != AUTHORIZED:
        raise Conflict(
            f"transaction {transaction_id} is {transaction.status}; only a live hold can change",
            code=f"Transaction{transaction.status}",
        )
    growth = cents - transaction.hold_cents
    if growth > 0:
        _ensure_within_growth_limit(
            session,
            principal,
            transaction,
            cents,
            "the hold may not grow beyond the store's maxPreAuthorizationGrowthRate",
        )
        _ensure_credit_for(session, principal, account, growth)
    account.pre_authorized_cents += growth
    transaction.hold_cents = cents
    transaction.settle = settle
    transaction.installments = installments
    if expires_at is not None:
        transaction.expires_at = expires_at
    transaction.updated_at = now
    account.updated_at = now
    events.record(session, events.TRANSACTION_CHANGED, account=account, transaction=transaction)
    return transaction


def cancel_hold(
    session: Session,
    principal: Principal,
    account_public_id: str,
    transaction_id: str,
    *,
    now: datetime | None = None,
) -> Transaction:
    account, transaction = _lock_transaction(session, principal, account_public_id, transaction_id)
    now = now or utcnow()
    _expire_if_due(session, account, transaction, now)
    if transaction.status == SETTLED:
        raise Conflict(
            "a settled transaction cannot be cancelled; refund it instead",
            code="TransactionSettled",
        )
    if transaction.status == AUTHORIZED:
        _release_hold(account, transaction, CANCELLED, now)
        events.record(session, events.TRANSACTION_CANCELLED, account=account, transaction=transaction)
    return transaction


def settle(
    session: Session,
    principal: Principal,
    account_public_id: str,
    transaction_id: str,
    *,
    value: Decimal,
    payment_condition: str | None = None,
    now: datetime | None = None,
) -> Transaction:
    """Settles the hold for `value`, or changes the settled value.

    The first settlement follows a payment condition: the one `payment_condition` names (404
    if the store has none by that name), else the store's default condition, else 30-day
    steps without interest. Its invoices are dated by the condition, and the interest they
    bear is added to the settled value: settled = value + interest (`interest_cents` keeps
    the part), and the ledger entry takes both, so the balance owes what the invoices ask.

    The credit and growth checks look at `value` alone: the interest is the store's charge for
    the terms it grants, not credit the customer asked for, so it may take the balance past the
    limit by that much.

    Later, the same value (settled − interest) changes nothing; another value re-settles
    (`_resettle`). A settlement that names another condition than the one the transaction was
    settled under is refused: its terms are fixed at the first settlement."""
    cents = _positive_cents("value", value)
    account, transaction = _lock_transaction(session, principal, account_public_id, transaction_id)
    now = now or utcnow()
    _expire_if_due(session, account, transaction, now)
    if transaction.status in (CANCELLED, EXPIRED):
        raise Conflict(
            f"transaction {transaction_id} is {transaction.status}", code=f"Transaction{transaction.status}"
        )
    if transaction.status == AUTHORIZED:
        _first_settlement(session, principal, account, transaction, cents, now, payment_condition)
        return transaction
    if payment_condition is not None and payment_condition != transaction.payment_condition:
        settled_under = transaction.payment_condition or "the built-in 30-day steps"
        raise Conflict(
            f"transaction {transaction_id} was settled under {settled_under!r}; its payment "
            "condition cannot change",
            code="PaymentConditionMismatch",
        )
    if cents != transaction.settled_cents - transaction.interest_cents:
        _resettle(session, principal, account, transaction, cents, now)
    return transaction


def _settlement_terms_meta(schedule: Schedule, interest_cents: int) -> dict:
    """What a settlement entry says of its terms: nothing under the built-in rule."""
    meta: dict = {}
    if interest_cents:
        meta["interest"] = str(from_cents(interest_cents))
    if schedule.name is not None:
        meta["paymentCondition"] = schedule.name
    return meta


def _first_settlement(
    session: Session,
    principal: Principal,
    account: Account,
    transaction: Transaction,
    cents: int,
    now: datetime,
    payment_condition: str | None,
) -> None:
    if not transaction.settle:
        raise Conflict(
            "this hold was created with settle=false and cannot be settled",
            code="SettlementNotAllowed",
        )
    schedule = payment_conditions.schedule_for(session, principal.store_id, payment_condition)
    _ensure_within_growth_limit(
        session,
        principal,
        transaction,
        cents,
        "the settlement exceeds the hold beyond the store's maxPreAuthorizationGrowthRate",
    )
    growth = cents - transaction.hold_cents
    if growth > 0:
        _ensure_credit_for(session, principal, account, growth)
    interest = issuing.plan_interest_cents(cents, transaction.installments, schedule)
    _release_hold(account, transaction, SETTLED, now)
    transaction.settled_cents = cents + interest
    transaction.interest_cents = interest
    transaction.payment_condition = schedule.name
    transaction.settled_at = now
    ledger.append_entry(
        session,
        account,
        origin=INVOICE,
        value_cents=-(cents + interest),
        done_by=principal.name,
        meta={
            "transactionId": transaction.public_id,
            "orderId": transaction.order_id,
            "numberOfInstallments": issuing.invoice_count(cents, transaction.installments),
            **_settlement_terms_meta(schedule, interest),
        },
        at=now,
    )
    events.record(session, events.TRANSACTION_SETTLED, account=account, transaction=transaction, at=now)
    issuing.issue(
        session,
        transaction,
        total_cents=cents,
        installments=transaction.installments,
        at=now,
        schedule=schedule,
    )


def _resettle(
    session: Session,
    principal: Principal,
    account: Account,
    transaction: Transaction,
    cents: int,
    now: datetime,
) -> None:
    """Changes the settled value to `cents`. A lower value lowers open invoices; a higher one
    issues invoices for the difference, dated (and charged interest) by the condition the
    transaction was first settled under, or by the built-in rule if that condition was deleted
    since. A settlement that bears interest cannot change: its interest was reckoned on the
    whole plan, and lowering its invoices would not say which part is principal; refund it."""
    if transaction.refunded_cents:
        raise Conflict(
            "a refunded settlement cannot be settled again with another value",
            code="TransactionRefunded",
        )
    if transaction.interest_cents:
        raise Conflict(
            f"this settlement bears {from_cents(transaction.interest_cents)} of interest from its "
            "payment condition and cannot change its value; refund instead",
            code="SettlementHasInterest",
        )
    # Without interest, settled is the principal.
    difference = cents - transaction.settled_cents
    interest = 0
    terms_meta: dict = {}
    if difference < 0:
        if issuing.open_amount_cents(session, transaction) < -difference:
            raise Conflict(
                "the open invoices are less than the reduction; refund the paid part instead",
                code="SettlementBelowPaid",
            )
        issuing.lower_open_invoices(session, transaction, -difference, at=now)
    else:
        _ensure_within_growth_limit(
            session,
            principal,
            transaction,
            cents,
            "the settlement may not grow beyond the store's maxPreAuthorizationGrowthRate",
        )
        _ensure_credit_for(session, principal, account, difference)
        schedule = payment_conditions.stored_schedule(
            session, principal.store_id, transaction.payment_condition
        )
        interest = issuing.plan_interest_cents(difference, transaction.installments, schedule)
        terms_meta = _settlement_terms_meta(schedule, interest)
        issuing.issue(
            session,
            transaction,
            total_cents=difference,
            installments=transaction.installments,
            at=now,
            schedule=schedule,
        )
    ledger.append_entry(
        session,
        account,
        origin=INVOICE,
        value_cents=-(difference + interest),
        done_by=principal.name,
        meta={
            "transactionId": transaction.public_id,
            "orderId": transaction.order_id,
            # The invoices this change issued (none when it lowers the settlement).
            "numberOfInstallments": (
                issuing.invoice_count(difference, transaction.installments) if difference > 0 else 0
            ),
            "settlementChange": True,
            **terms_meta,
        },
        at=now,
    )
    transaction.settled_cents = cents + interest
    transaction.interest_cents = interest
    transaction.updated_at = now
    account.updated_at = now
    events.record(session, events.TRANSACTION_SETTLED, account=account, transaction=transaction, at=now)


def refund(
    session: Session,
    principal: Principal,
    account_public_id: str,
    transaction_id: str,
    *,
    value: Decimal,
    now: datetime | None = None,
) -> int:
    """Lowers open invoices from the last installment back; what exceeds them (already paid)
    goes back to the customer's balance. Refuses more than settled − refunded − cancelled.
    Returns the refunded cents."""
    cents = _positive_cents("value", value)
    account, transaction = _lock_transaction(session, principal, account_public_id, transaction_id)
    if transaction.status != SETTLED:
        raise Conflict("only a settled transaction can be refunded", code="TransactionNotSettled")
    returns.ensure_refund_fits(session, transaction, cents)
    now = now or utcnow()
    # Within what is left to refund, the excess over the open invoices is at most what was
    # paid and not yet given back (transactions.returns).
    excess = issuing.lower_open_invoices(session, transaction, cents, at=now)
    transaction.refunded_cents += cents
    transaction.refund_excess_cents += excess
    transaction.updated_at = now
    ledger.append_entry(
        session,
        account,
        origin=INVOICE,
        value_cents=cents,
        done_by=principal.name,
        meta={"transactionId": transaction.public_id, "refund": True},
        at=now,
    )
    account.updated_at = now
    events.record(
        session,
        events.TRANSACTION_REFUNDED,
        account=account,
        transaction=transaction,
        changes={"refund": {"value": from_cents(cents)}},
        at=now,
    )
    return cents


def expire_due_holds(session: Session, now: datetime, *, limit: int = 100) -> int:
    """Releases holds past their expiration. Several workers may run this at once: each
    claims an account with SKIP LOCKED, so a hold is released exactly once."""
    candidates = session.execute(
        select(Transaction.id, Transaction.account_id)
        .where(
            Transaction.status == AUTHORIZED,
            Transaction.expires_at.is_not(None),
            Transaction.expires_at <= now,
        )
        .order_by(Transaction.expires_at)
        .limit(limit)
    ).all()
    released = 0
    for transaction_pk, account_pk in candidates:
        account = session.scalar(
            select(Account).where(Account.id == account_pk).with_for_update(skip_locked=True)
        )
        if account is None:
            continue
        transaction = session.execute(
            select(Transaction).where(Transaction.id == transaction_pk).with_for_update()
        ).scalar_one()
        if transaction.status == AUTHORIZED:
            _release_hold(account, transaction, EXPIRED, now)
            events.record(
                session, events.TRANSACTION_EXPIRED, account=account, transaction=transaction, at=now
            )
            released += 1
    return released
