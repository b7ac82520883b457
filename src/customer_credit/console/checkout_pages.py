"""The checkout connector in the console: the "Awaiting approval" queue (manual review) with its
approve, raise-the-limit-and-approve and deny forms, the recently decided payments, and the
connector's section of the settings page. Every decision is one call of checkout.service in one
write transaction, as the extension API makes it; a refusal is shown on the queue page."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from customer_credit.accounts.models import Account
from customer_credit.checkout import service as checkout
from customer_credit.checkout import settings as checkout_settings
from customer_credit.checkout.models import UNDEFINED, CheckoutPayment, CheckoutSettings
from customer_credit.clock import now_of
from customer_credit.console.accounts_pages import account_url, amount_field, form_text
from customer_credit.console.home import page_context
from customer_credit.console.session import Visit, changing, signed_in
from customer_credit.console.web import Message, details_of, environment, error_message, redirect, render
from customer_credit.errors import DomainError, field_error, integrity_errors_as_conflicts
from customer_credit.i18n import N_
from customer_credit.i18n import gettext as _
from customer_credit.ledger.service import Figures, figures
from customer_credit.money import from_cents

router = APIRouter(prefix="/admin", include_in_schema=False)

QUEUE_URL = "/admin/checkout"
QUEUE_SIZE = 100
RECENT_SIZE = 20


def payment_url(payment_id: str) -> str:
    return f"{QUEUE_URL}/payments/{quote(payment_id, safe='')}"


@dataclass(frozen=True)
class QueueRow:
    """A payment under review with what an operator needs to decide on it."""

    payment: CheckoutPayment
    account: Account | None
    figures: Figures | None
    # The credit limit with which this purchase would fit in the available credit (tolerance
    # aside, so that the suggestion holds whether or not the store counts it).
    fitting_limit: Decimal | None


def _accounts_by_id(session: Session, payments: list[CheckoutPayment]) -> dict[int, Account]:
    ids = {payment.account_id for payment in payments if payment.account_id is not None}
    if not ids:
        return {}
    return {account.id: account for account in session.scalars(select(Account).where(Account.id.in_(ids)))}


def _queue_rows(session: Session, store_id: int) -> list[QueueRow]:
    payments = checkout.awaiting_approval(session, store_id, limit=QUEUE_SIZE)
    accounts = _accounts_by_id(session, payments)
    rows = []
    for payment in payments:
        account = accounts.get(payment.account_id) if payment.account_id is not None else None
        shown = figures(account) if account is not None else None
        fitting = None
        if shown is not None:
            shortfall = from_cents(payment.value_cents) - shown.available_credit
            fitting = shown.credit_limit + max(shortfall, Decimal(0))
        rows.append(QueueRow(payment, account, shown, fitting))
    return rows


def recently_decided(session: Session, store_id: int, *, limit: int = RECENT_SIZE) -> list[CheckoutPayment]:
    """The store's latest payments that have a final status, whoever decided them (the
    authorization itself, an operator, the review deadline, or VTEX's cancellation)."""
    decided_at = func.coalesce(CheckoutPayment.decided_at, CheckoutPayment.created_at)
    return list(
        session.scalars(
            select(CheckoutPayment)
            .where(CheckoutPayment.store_id == store_id, CheckoutPayment.status != UNDEFINED)
            .order_by(decided_at.desc(), CheckoutPayment.id.desc())
            .limit(limit)
        )
    )


def awaiting_approval_count(request: Request, visit) -> int:
    """For the navigation's "Awaiting approval (n)": one count on the (store, status) index."""
    if visit is None:
        return 0
    with request.app.state.db.read() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(CheckoutPayment)
                .where(CheckoutPayment.store_id == visit.store.id, CheckoutPayment.status == UNDEFINED)
            )
            or 0
        )


environment.globals["awaiting_approval_count"] = awaiting_approval_count


def queue_page(
    request: Request,
    visit: Visit,
    *,
    messages=(),
    status_code: int = 200,
    failed_payment: str = "",
    form_name: str = "",
    values: dict | None = None,
    errors: dict | None = None,
):
    with request.app.state.db.read() as session:
        rows = _queue_rows(session, visit.store.id)
        recent = recently_decided(session, visit.store.id)
        recent_accounts = _accounts_by_id(session, recent)
        return render(
            request,
            "checkout_queue.html",
            page_context(
                visit,
                "checkout",
                "Awaiting approval",
                rows=rows,
                full=len(rows) >= QUEUE_SIZE,
                recent=[
                    (payment, recent_accounts.get(payment.account_id) if payment.account_id else None)
                    for payment in recent
                ],
                payment_url=payment_url,
                account_url=account_url,
                failed_payment=failed_payment,
                form_name=form_name,
                values=values or {},
                errors=errors or {},
                messages=list(messages),
                now=now_of(request),
            ),
            status_code=status_code,
        )


@router.get("/checkout")
def awaiting_approval(request: Request, visit: Annotated[Visit, Depends(signed_in)]):
    return queue_page(request, visit)


def _decide(
    request: Request,
    visit: Visit,
    payment_id: str,
    form_name: str,
    values: dict,
    work: Callable[[Session, datetime], object],
    done: str,
):
    now = now_of(request)
    try:
        with integrity_errors_as_conflicts(), request.app.state.db.write() as session:
            work(session, now)
    except DomainError as error:
        return queue_page(
            request,
            visit,
            messages=[
                Message(
                    "error",
                    _("Payment %(id)s: %(reason)s") % {"id": payment_id, "reason": error_message(error).text},
                )
            ],
            status_code=error.status_code,
            failed_payment=payment_id,
            form_name=form_name,
            values=values,
            errors=details_of(error),
        )
    return redirect(request, QUEUE_URL, Message("ok", done))


Posted = Annotated[tuple[Visit, FormData], Depends(changing)]


@router.post("/checkout/payments/{payment_id}/approve")
def approve_once(payment_id: str, request: Request, posted: Posted):
    visit, _form = posted
    return _decide(
        request,
        visit,
        payment_id,
        "approve",
        {},
        lambda session, now: checkout.approve(session, visit.principal, payment_id, now),
        _("Payment %(id)s approved beyond the available credit.") % {"id": payment_id},
    )


@router.post("/checkout/payments/{payment_id}/raise-limit")
def approve_with_new_limit(payment_id: str, request: Request, posted: Posted):
    visit, form = posted
    values = {"creditLimit": form_text(form, "creditLimit", 40)}
    return _decide(
        request,
        visit,
        payment_id,
        "raise-limit",
        values,
        lambda session, now: checkout.approve(
            session,
            visit.principal,
            payment_id,
            now,
            new_credit_limit=amount_field(form, "creditLimit", locale=visit.presentation.locale),
        ),
        _("Payment %(id)s approved; the credit limit is now %(limit)s.")
        % {"id": payment_id, "limit": values["creditLimit"]},
    )


@router.post("/checkout/payments/{payment_id}/deny")
def deny(payment_id: str, request: Request, posted: Posted):
    visit, form = posted
    # Longer than the service's limit, so that a reason too long is refused, not cut short.
    values = {"reason": form_text(form, "reason", 1000)}
    return _decide(
        request,
        visit,
        payment_id,
        "deny",
        values,
        lambda session, now: checkout.deny(
            session, visit.principal, payment_id, now, values["reason"] or None
        ),
        _("Payment %(id)s denied.") % {"id": payment_id},
    )


# The connector's section of the settings page (console/settings_pages.py mounts its form).

DURATION_UNITS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}
# A unit as its select shows it (the posted value stays the key); translated in checkout_section.
DURATION_UNIT_LABELS = {
    "days": N_("days"),
    "hours": N_("hours"),
    "minutes": N_("minutes"),
    "seconds": N_("seconds"),
}
# Form field -> (the CheckoutSettings column, also save_settings' keyword; the name its errors use).
DURATIONS = {
    "checkoutHold": ("hold_s", "holdSeconds"),
    "checkoutReviewWindow": ("review_window_s", "reviewWindowSeconds"),
    "checkoutAutoSettleDelay": ("auto_settle_delay_s", "autoSettleDelaySeconds"),
}
# Form field -> its label and hint on the settings page (translated in checkout_section).
DURATION_TEXTS = {
    "checkoutHold": (
        N_("Hold of an approved purchase"),
        N_("How long an approved purchase's hold lives (VTEX's delayToCancel): 10 minutes to 30 days"),
    ),
    "checkoutReviewWindow": (
        N_("Review window"),
        N_("How long an operator has to decide before the purchase is denied: 10 minutes to 30 days"),
    ),
    "checkoutAutoSettleDelay": (
        N_("Auto-settle delay"),
        N_(
            "VTEX settles by itself after this (at most 7 days); "
            "7 days leaves settling to the order's invoicing"
        ),
    ),
}
_API_FIELDS = {
    "manualReviewEnabled": "checkoutManualReview",
    "callbackAppKey": "checkoutCallbackAppKey",
    "callbackAppToken": "checkoutCallbackAppToken",
    **{api_name: field for field, (_column, api_name) in DURATIONS.items()},
}


def _as_duration(seconds: int) -> tuple[str, str]:
    """The largest unit in which `seconds` is a whole number."""
    for unit, size in DURATION_UNITS.items():
        if seconds % size == 0 and (seconds or unit == "days"):
            return str(seconds // size), unit
    return str(seconds), "seconds"


def _stored_values(settings: CheckoutSettings) -> dict:
    values: dict = {
        "checkoutManualReview": settings.manual_review_enabled,
        "checkoutCallbackAppKey": settings.callback_app_key or "",
    }
    for field, (column, _api_name) in DURATIONS.items():
        values[field], values[f"{field}Unit"] = _as_duration(getattr(settings, column))
    return values


def posted_checkout_values(form: FormData) -> dict:
    """What was typed in the section, to show again next to a refusal (never the token)."""
    values: dict = {
        "checkoutManualReview": form.get("checkoutManualReview") == "on",
        "checkoutCallbackAppKey": form_text(form, "checkoutCallbackAppKey", 300),
    }
    for field in DURATIONS:
        values[field] = form_text(form, field, 40)
        values[f"{field}Unit"] = form_text(form, f"{field}Unit", 10)
    return values


def checkout_section(session: Session, store_id: int, *, values: dict | None = None, errors=None) -> dict:
    """The settings page's context for the section: the stored settings (or what was typed),
    and whether a callback token is set; the token itself is never shown."""
    settings = checkout_settings.get_settings(session, store_id)
    return {
        "checkout": values if values is not None else _stored_values(settings),
        "checkout_token_set": settings.callback_app_token is not None,
        "checkout_errors": errors or {},
        "durations": [(field, _(label), _(hint)) for field, (label, hint) in DURATION_TEXTS.items()],
        "duration_units": DURATION_UNITS,
        "duration_unit_labels": {unit: _(label) for unit, label in DURATION_UNIT_LABELS.items()},
    }


def _seconds_of(field: str, amount: str, unit: str) -> int:
    size = DURATION_UNITS.get(unit)
    if size is None:
        raise field_error(field, f"unit must be one of {', '.join(DURATION_UNITS)}")
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise field_error(field, "must be a number") from None
    if not value.is_finite() or abs(value) > 10**9:
        raise field_error(field, "must be a number")
    seconds = value * size
    if seconds != seconds.to_integral_value():
        raise field_error(field, "must come to a whole number of seconds")
    return int(seconds)


def _changes_of(form: FormData) -> dict:
    """The posted section as save_settings' keywords. The token field is write-only: empty
    keeps the stored token, the "remove" box clears it."""
    values = posted_checkout_values(form)
    changes: dict = {
        "manual_review_enabled": values["checkoutManualReview"],
        "callback_app_key": values["checkoutCallbackAppKey"],
    }
    for field, (column, _api_name) in DURATIONS.items():
        changes[column] = _seconds_of(field, values[field], values[f"{field}Unit"])
    token = form.get("checkoutCallbackAppToken")
    token = token.strip() if isinstance(token, str) else ""
    if form.get("checkoutRemoveToken") == "on":
        if token:
            raise field_error("checkoutCallbackAppToken", "type a new token or tick remove, not both")
        changes["callback_app_token"] = ""
    elif token:
        changes["callback_app_token"] = token
    return changes


def save_checkout_settings(session: Session, store_id: int, form: FormData) -> None:
    """Saves the posted section in the caller's write transaction through
    checkout.settings.save_settings; a refusal names the form's field (save_settings words its
    errors with the API's field names)."""
    changes = _changes_of(form)
    try:
        checkout_settings.save_settings(session, store_id, **changes)
    except DomainError as error:
        for detail in error.details:
            if isinstance(detail, dict) and detail.get("field") in _API_FIELDS:
                detail["field"] = _API_FIELDS[detail["field"]]
        raise
