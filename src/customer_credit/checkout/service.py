"""The connector's rules: a VTEX payment becomes a hold on the buyer's account; VTEX's
settlement, cancellation and refund become the account's settlement, cancellation and refund
(transactions.service, which owns those rules); a purchase beyond the credit can wait for an
operator (manual review).

Locks: the payment row first, then the account, then its transaction (transactions.service),
so that requests on one payment run one after the other and a retry sees what the first did.
Every function runs inside the caller's write transaction."""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from customer_credit.accounts import queries as account_queries
from customer_credit.accounts import service as accounts
from customer_credit.accounts.models import Account
from customer_credit.auth.principal import Principal
from customer_credit.checkout import settings as checkout_settings
from customer_credit.checkout.models import (
    APPROVED,
    CALLBACK_NONE,
    CALLBACK_PENDING,
    CANCELLATION,
    DENIED,
    REFUND,
    SETTLEMENT,
    UNDEFINED,
    CheckoutOperation,
    CheckoutPayment,
)
from customer_credit.checkout.schemas import PaymentRequest, merchant_setting
from customer_credit.errors import Conflict, DomainError, NotFound, field_error
from customer_credit.money import from_cents, to_cents
from customer_credit.payment_conditions.service import schedule_for
from customer_credit.stores import service as stores
from customer_credit.transactions import service as transactions
from customer_credit.transactions.models import AUTHORIZED, CANCELLED, EXPIRED, SETTLED, Transaction
from customer_credit.validation import clean_email, clean_text

# The custom field (manifest) in which a merchant names the payment condition for an affiliation.
PAYMENT_CONDITION_FIELD = "Payment condition"
ACQUIRER = "CustomerCredit"
# VTEX's words for the documentType of a buyer, in ours.
_DOCUMENT_TYPES = {"cpf": "CPF", "cnpj": "CNPJ"}

NO_ACCOUNT = "NoAccount"
ACCOUNT_CLOSED = "AccountClosed"
INSUFFICIENT_CREDIT = "InsufficientCredit"
AWAITING_APPROVAL = "AwaitingApproval"
REVIEW_EXPIRED = "ReviewExpired"
DENIED_BY_OPERATOR = "DeniedByOperator"


class CheckoutRefusal(DomainError):
    """A rule refused a settlement, cancellation or refund: nothing changed. The protocol's
    answer to that is a 500 with a code, which VTEX retries; a retry succeeds once the cause
    is gone (a refund before its settlement) or is refused the same way."""

    status_code = 500


def _new_tid() -> str:
    return secrets.token_hex(16).upper()


def find_payment(session: Session, store_id: int, payment_id: str, *, lock: bool = False) -> CheckoutPayment:
    query = select(CheckoutPayment).where(
        CheckoutPayment.store_id == store_id, CheckoutPayment.payment_id == payment_id
    )
    payment = session.scalar(query.with_for_update() if lock else query)
    if payment is None:
        raise NotFound(f"no payment {payment_id}", code="PaymentNotFound")
    return payment


def buyer_account(
    session: Session, store_id: int, request: PaymentRequest
) -> tuple[Account | None, str | None]:
    """The buyer's account, found by document and documentType, else by e-mail as its owner or
    a holder; with the id an automatic account would get (None if the buyer has no document)."""
    buyer = request.miniCart.buyer
    document = (buyer.corporateDocument if buyer.isCorporate else None) or buyer.document
    document_type = "CNPJ" if buyer.isCorporate and buyer.corporateDocument else buyer.documentType
    public_id = None
    if document and document.strip():
        kind = _DOCUMENT_TYPES.get((document_type or "").strip().lower(), "Other")
        public_id = accounts.account_public_id(document.strip(), kind)
        account = account_queries.find_latest(session, store_id, public_id)
        if account is not None:
            return account, public_id
    if buyer.email:
        account = accounts.find_open_by_email(session, store_id, buyer.email)
        if account is not None:
            return account, account.public_id
    return None, public_id


@dataclass(frozen=True)
class _Decision:
    status: str
    code: str
    message: str


def create_payment(
    session: Session, principal: Principal, request: PaymentRequest, now: datetime
) -> CheckoutPayment:
    """POST /payments. A paymentId seen before answers its payment as it stands now."""
    existing = session.scalar(
        select(CheckoutPayment).where(
            CheckoutPayment.store_id == principal.store_id, CheckoutPayment.payment_id == request.paymentId
        )
    )
    if existing is not None:
        return existing
    config = stores.get_config(session, principal.store_id)
    if request.currency.upper() != config.currency.upper():
        raise DomainError(
            f"the currency {request.currency} is not supported; this store keeps {config.currency}",
            code="CurrencyNotSupported",
        )
    if not 1 <= request.installments <= transactions.MAX_INSTALLMENTS:
        raise field_error("installments", f"must be between 1 and {transactions.MAX_INSTALLMENTS}")
    settings = checkout_settings.get_settings(session, principal.store_id)
    payment = CheckoutPayment(
        store_id=principal.store_id,
        payment_id=request.paymentId,
        tid=_new_tid(),
        vtex_transaction_id=request.transactionId,
        order_id=request.orderId,
        reference=request.reference,
        value_cents=to_cents(request.value),
        installments=request.installments,
        payment_condition=merchant_setting(request, PAYMENT_CONDITION_FIELD),
        buyer_email=(request.miniCart.buyer.email or "")[:254] or None,
        buyer_document=(request.miniCart.buyer.document or "")[:100] or None,
        delay_to_auto_settle_s=settings.auto_settle_delay_s,
        delay_to_cancel_s=settings.hold_s,
        callback_url=request.callbackUrl,
        callback_state=CALLBACK_NONE,
        callback_attempts=0,
        created_at=now,
        updated_at=now,
    )
    if payment.payment_condition is not None:
        # A name the store does not know would fail at settlement, after the goods left.
        try:
            schedule_for(session, principal.store_id, payment.payment_condition)
        except NotFound as unknown:
            raise DomainError(unknown.message, code=unknown.code) from None
    decision = _authorize(session, principal, request, payment, settings, now)
    payment.status, payment.code, payment.message = decision.status, decision.code, decision.message
    if decision.status == UNDEFINED:
        payment.delay_to_cancel_s = settings.review_window_s
        payment.review_deadline_at = now + timedelta(seconds=settings.review_window_s)
    session.add(payment)
    session.flush()
    return payment


def _authorize(
    session: Session, principal: Principal, request: PaymentRequest, payment: CheckoutPayment, settings, now
) -> _Decision:
    account, public_id = buyer_account(session, principal.store_id, request)
    if account is None and public_id is not None and request.miniCart.buyer.email:
        email = clean_email("miniCart.buyer.email", request.miniCart.buyer.email)
        try:
            account = accounts.open_automatically(session, principal, public_id, email, now=now)
        except Conflict as refusal:
            if refusal.code != "AccountAlreadyExists":
                raise
        if account is None:
            # A racing first purchase of this buyer opened the account since we looked.
            account, _ = buyer_account(session, principal.store_id, request)
    if account is None:
        return _Decision(DENIED, NO_ACCOUNT, "the buyer has no credit account in this store")
    payment.account_id = account.id
    if account.status != "Open":
        return _Decision(DENIED, ACCOUNT_CLOSED, "the buyer's credit account is closed")
    try:
        transaction = _hold(session, principal, account, payment, now, expires_in_s=settings.hold_s)
    except Conflict as refusal:
        if refusal.code != INSUFFICIENT_CREDIT:
            return _Decision(DENIED, refusal.code, refusal.message)
        if settings.manual_review_enabled:
            return _Decision(
                UNDEFINED, AWAITING_APPROVAL, "the purchase exceeds the available credit; awaiting approval"
            )
        return _Decision(DENIED, INSUFFICIENT_CREDIT, refusal.message)
    payment.transaction = transaction
    return _Decision(APPROVED, "Approved", "the purchase is authorized on the buyer's credit account")


def _hold(
    session: Session,
    principal: Principal,
    account: Account,
    payment: CheckoutPayment,
    now: datetime,
    *,
    expires_in_s: int,
    over_limit_approved: bool = False,
) -> Transaction:
    return transactions.create_hold(
        session,
        principal,
        account.public_id,
        value=from_cents(payment.value_cents),
        settle=True,
        installments=payment.installments,
        expires_at=now + timedelta(seconds=expires_in_s),
        order_id=payment.order_id,
        payment_id=payment.payment_id,
        order_reference=payment.reference,
        over_limit_approved=over_limit_approved,
        now=now,
    )


def payment_answer(payment: CheckoutPayment, session: Session) -> dict:
    """The protocol's answer for a payment (also the body of a callback)."""
    authorization_id = None
    if payment.status == APPROVED and payment.transaction is not None:
        authorization_id = payment.transaction.public_id
    return {
        "paymentId": payment.payment_id,
        "status": payment.status,
        "authorizationId": authorization_id,
        "tid": payment.tid,
        "nsu": str(payment.id) if payment.status == APPROVED else None,
        "acquirer": ACQUIRER,
        "code": payment.code,
        "message": payment.message,
        "delayToAutoSettle": payment.delay_to_auto_settle_s,
        "delayToAutoSettleAfterAntifraud": payment.delay_to_auto_settle_s,
        "delayToCancel": payment.delay_to_cancel_s,
    }


def _operation(
    session: Session, payment: CheckoutPayment, kind: str, request_id: str
) -> CheckoutOperation | None:
    return session.scalar(
        select(CheckoutOperation).where(
            CheckoutOperation.payment_pk == payment.id,
            CheckoutOperation.kind == kind,
            CheckoutOperation.request_id == request_id,
        )
    )


def _record(
    session: Session, payment: CheckoutPayment, kind: str, request_id: str, cents: int, now
) -> CheckoutOperation:
    operation = CheckoutOperation(
        store_id=payment.store_id,
        payment_pk=payment.id,
        kind=kind,
        request_id=request_id,
        public_id=secrets.token_hex(16).upper(),
        value_cents=cents,
        created_at=now,
    )
    session.add(operation)
    payment.updated_at = now
    session.flush()
    return operation


def _approved_transaction(session: Session, payment: CheckoutPayment, doing: str) -> Transaction:
    if payment.status != APPROVED or payment.transaction_id is None:
        raise CheckoutRefusal(
            f"the payment is {payment.status}; only an approved one can be {doing}", code="PaymentNotApproved"
        )
    return session.get_one(Transaction, payment.transaction_id)


def _account_public_id(session: Session, transaction: Transaction) -> str:
    # Only the column: an Account object loaded here, before accounts.lock_open_account locks the
    # row, would be handed back by that lock as it was now, missing what others commit meanwhile.
    return session.execute(select(Account.public_id).where(Account.id == transaction.account_id)).scalar_one()


def _as_refusal(error: DomainError) -> CheckoutRefusal:
    return CheckoutRefusal(error.message, code=error.code)


def settle_payment(
    session: Session, principal: Principal, payment_id: str, request_id: str, value: Decimal, now: datetime
) -> CheckoutOperation:
    """Settles the hold into invoices under the payment's condition (the growth rule bounds a
    settlement above the hold). A payment settles once: a later request with another requestId
    and the same value answers success and changes nothing; another value is refused."""
    payment = find_payment(session, principal.store_id, payment_id, lock=True)
    done = _operation(session, payment, SETTLEMENT, request_id)
    if done is not None:
        return done
    transaction = _approved_transaction(session, payment, "settled")
    cents = to_cents(value)
    if transaction.status == SETTLED:
        if transaction.settled_cents - transaction.interest_cents != cents:
            raise CheckoutRefusal(
                f"the payment was already settled for {from_cents(transaction.settled_cents)}",
                code="PaymentAlreadySettled",
            )
        return _record(session, payment, SETTLEMENT, request_id, cents, now)
    try:
        transactions.settle(
            session,
            principal,
            _account_public_id(session, transaction),
            transaction.public_id,
            value=value,
            payment_condition=payment.payment_condition,
            now=now,
        )
    except (Conflict, NotFound) as refusal:
        raise _as_refusal(refusal) from None
    return _record(session, payment, SETTLEMENT, request_id, cents, now)


def cancel_payment(
    session: Session, principal: Principal, payment_id: str, request_id: str, now: datetime
) -> CheckoutOperation:
    """Releases the hold; a payment under review is denied; cancelling what is already denied,
    cancelled or expired changes nothing. A settled payment is refunded, not cancelled."""
    payment = find_payment(session, principal.store_id, payment_id, lock=True)
    done = _operation(session, payment, CANCELLATION, request_id)
    if done is not None:
        return done
    released = 0
    if payment.status == UNDEFINED:
        _decide(
            payment,
            DENIED,
            "Cancelled",
            "VTEX cancelled the payment before a decision",
            "vtex",
            now,
            notify=False,
        )
    elif payment.status == APPROVED and payment.transaction_id is not None:
        transaction = session.get_one(Transaction, payment.transaction_id)
        if transaction.status == SETTLED:
            raise CheckoutRefusal("the payment is settled; refund it instead", code="PaymentSettled")
        if transaction.status == AUTHORIZED:
            released = transaction.hold_cents
            try:
                account_id = _account_public_id(session, transaction)
                transactions.cancel_hold(session, principal, account_id, transaction.public_id, now=now)
            except Conflict as refusal:
                raise _as_refusal(refusal) from None
        elif transaction.status not in (CANCELLED, EXPIRED):
            raise CheckoutRefusal(f"the payment's hold is {transaction.status}", code="PaymentNotCancellable")
    return _record(session, payment, CANCELLATION, request_id, released, now)


def refund_payment(
    session: Session, principal: Principal, payment_id: str, request_id: str, value: Decimal, now: datetime
) -> CheckoutOperation:
    """Refunds part or all of a settled payment (domain.md's allocation: open invoices from the
    last installment back, then the paid part as balance)."""
    payment = find_payment(session, principal.store_id, payment_id, lock=True)
    done = _operation(session, payment, REFUND, request_id)
    if done is not None:
        return done
    transaction = _approved_transaction(session, payment, "refunded")
    if transaction.status != SETTLED:
        raise CheckoutRefusal("the payment is not settled yet", code="PaymentNotSettled")
    try:
        cents = transactions.refund(
            session,
            principal,
            _account_public_id(session, transaction),
            transaction.public_id,
            value=value,
            now=now,
        )
    except Conflict as refusal:
        raise _as_refusal(refusal) from None
    return _record(session, payment, REFUND, request_id, cents, now)


def _decide(
    payment: CheckoutPayment,
    status: str,
    code: str,
    message: str,
    by: str,
    now: datetime,
    *,
    notify: bool = True,
) -> None:
    payment.status, payment.code, payment.message = status, code, message
    payment.decided_by = by
    payment.decided_at = now
    payment.review_deadline_at = None
    payment.updated_at = now
    if notify and payment.callback_url:
        # VTEX learns the decision from a callback (checkout.callbacks delivers it).
        payment.callback_state = CALLBACK_PENDING
        payment.callback_attempts = 0
        payment.callback_next_at = now


def _under_review(session: Session, principal: Principal, payment_id: str, now: datetime) -> CheckoutPayment:
    payment = find_payment(session, principal.store_id, payment_id, lock=True)
    if payment.status != UNDEFINED:
        raise Conflict(f"the payment was already {payment.status}", code="PaymentAlreadyDecided")
    if payment.review_deadline_at is not None and payment.review_deadline_at <= now:
        # The refusal rolls this transaction back; the expiry job denies it (and tells VTEX).
        raise Conflict("the review window has passed; the payment is being denied", code=REVIEW_EXPIRED)
    return payment


def approve(
    session: Session,
    principal: Principal,
    payment_id: str,
    now: datetime,
    *,
    new_credit_limit: Decimal | None = None,
) -> CheckoutPayment:
    """An operator approves a purchase under review: once (beyond the available credit), or by
    raising the account's credit limit first (a Credit entry), after which the purchase must fit."""
    payment = _under_review(session, principal, payment_id, now)
    if payment.account_id is None:
        raise Conflict("the payment has no account", code=NO_ACCOUNT)
    account = session.get_one(Account, payment.account_id)
    if account.status != "Open":
        raise Conflict("the buyer's credit account is closed", code=ACCOUNT_CLOSED)
    settings = checkout_settings.get_settings(session, principal.store_id)
    if new_credit_limit is not None:
        accounts.change_credit_limit(session, principal, account.public_id, new_credit_limit, now=now)
    transaction = _hold(
        session,
        principal,
        account,
        payment,
        now,
        expires_in_s=settings.hold_s,
        over_limit_approved=new_credit_limit is None,
    )
    payment.transaction = transaction
    payment.delay_to_cancel_s = settings.hold_s
    how = "with a new credit limit" if new_credit_limit is not None else "beyond the available credit"
    _decide(payment, APPROVED, "Approved", f"approved by an operator {how}", principal.name, now)
    return payment


def deny(
    session: Session, principal: Principal, payment_id: str, now: datetime, reason: str | None = None
) -> CheckoutPayment:
    if reason is not None:
        reason = clean_text("reason", reason.strip(), max_length=500, allow_newlines=False) or None
    payment = _under_review(session, principal, payment_id, now)
    _decide(payment, DENIED, DENIED_BY_OPERATOR, reason or "denied by an operator", principal.name, now)
    return payment


def account_public_id_of(session: Session, payment: CheckoutPayment) -> str | None:
    if payment.account_id is None:
        return None
    return session.get_one(Account, payment.account_id).public_id


def awaiting_approval(session: Session, store_id: int, *, limit: int = 100) -> list[CheckoutPayment]:
    return list(
        session.scalars(
            select(CheckoutPayment)
            .where(CheckoutPayment.store_id == store_id, CheckoutPayment.status == UNDEFINED)
            .order_by(CheckoutPayment.created_at, CheckoutPayment.id)
            .limit(limit)
        )
    )


def deny_expired_reviews(session: Session, now: datetime, *, limit: int = 100) -> int:
    """The job: a payment still under review at its deadline is denied (and VTEX told).
    SKIP LOCKED, so several workers share the work and a payment is denied once."""
    due = session.scalars(
        select(CheckoutPayment)
        .where(CheckoutPayment.status == UNDEFINED, CheckoutPayment.review_deadline_at <= now)
        .order_by(CheckoutPayment.review_deadline_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for payment in due:
        _decide(payment, DENIED, REVIEW_EXPIRED, "no decision was made in time", "system", now)
    return len(due)
