"""Extension endpoints for the connector, under the management API: its settings, and the
queue of purchases awaiting an operator's approval (manual review)."""

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import StrictBool, StrictStr

from customer_credit.api.context import RequestContext, authorized
from customer_credit.api.types import PositiveAmount, WholeNumber, WireModel
from customer_credit.api.wire import DecimalRoute, timestamp
from customer_credit.auth import resources
from customer_credit.checkout import service
from customer_credit.checkout import settings as checkout_settings
from customer_credit.checkout.models import CheckoutPayment
from customer_credit.clock import now_of
from customer_credit.money import from_cents

router = APIRouter(prefix="/api/creditcontrol/checkout", tags=["Checkout"], route_class=DecimalRoute)


class CheckoutSettingsIn(WireModel):
    manualReviewEnabled: StrictBool | None = None
    holdSeconds: WholeNumber | None = None
    reviewWindowSeconds: WholeNumber | None = None
    autoSettleDelaySeconds: WholeNumber | None = None
    callbackAppKey: StrictStr | None = None
    callbackAppToken: StrictStr | None = None


class ApprovalIn(WireModel):
    # Approve by raising the account's limit to this; without it, approve this purchase once.
    creditLimit: PositiveAmount | None = None


class DenialIn(WireModel):
    reason: StrictStr | None = None


def payment_wire(payment: CheckoutPayment, account_public_id: str | None) -> dict:
    return {
        "paymentId": payment.payment_id,
        "status": payment.status,
        "code": payment.code,
        "message": payment.message,
        "value": from_cents(payment.value_cents),
        "installments": payment.installments,
        "orderId": payment.order_id,
        "reference": payment.reference,
        "accountId": account_public_id,
        "buyerEmail": payment.buyer_email,
        "createdAt": timestamp(payment.created_at),
        "reviewDeadline": timestamp(payment.review_deadline_at) if payment.review_deadline_at else None,
        "decidedBy": payment.decided_by,
        "decidedAt": timestamp(payment.decided_at) if payment.decided_at else None,
        "callback": {
            "state": payment.callback_state,
            "attempts": payment.callback_attempts,
            "lastStatusCode": payment.callback_last_status,
            "lastError": payment.callback_last_error,
        },
    }


def _wire(session, payment: CheckoutPayment) -> dict:
    return payment_wire(payment, service.account_public_id_of(session, payment))


@router.get("/settings", summary="The connector's settings")
def get_settings(ctx: Annotated[RequestContext, Depends(authorized(resources.READ_CONFIGURATION))]):
    return ctx.read(
        lambda session: checkout_settings.settings_wire(
            checkout_settings.get_settings(session, ctx.principal.store_id)
        )
    )


@router.put("/settings", summary="Change the connector's settings (only the fields sent)")
def put_settings(
    body: CheckoutSettingsIn,
    ctx: Annotated[RequestContext, Depends(authorized(resources.EDIT_CONFIGURATION))],
):
    return ctx.write(
        lambda session: checkout_settings.settings_wire(
            checkout_settings.save_settings(
                session,
                ctx.principal.store_id,
                manual_review_enabled=body.manualReviewEnabled,
                hold_s=body.holdSeconds,
                review_window_s=body.reviewWindowSeconds,
                auto_settle_delay_s=body.autoSettleDelaySeconds,
                callback_app_key=body.callbackAppKey,
                callback_app_token=body.callbackAppToken,
            )
        )
    )


@router.get("/payments/awaiting-approval", summary="Purchases awaiting an operator's approval, oldest first")
def awaiting_approval(ctx: Annotated[RequestContext, Depends(authorized(resources.READ_ACCOUNTS))]):
    return ctx.read(
        lambda session: {
            "data": [
                _wire(session, payment)
                for payment in service.awaiting_approval(session, ctx.principal.store_id)
            ]
        }
    )


@router.get("/payments/{paymentId}", summary="A checkout payment, by VTEX's paymentId")
def get_payment(paymentId: str, ctx: Annotated[RequestContext, Depends(authorized(resources.READ_ACCOUNTS))]):
    return ctx.read(
        lambda session: _wire(session, service.find_payment(session, ctx.principal.store_id, paymentId))
    )


@router.post("/payments/{paymentId}/approval", summary="Approve a purchase under review")
def approve(
    paymentId: str,
    body: ApprovalIn,
    ctx: Annotated[RequestContext, Depends(authorized(resources.EDIT_CREDITS))],
):
    now = now_of(ctx.request)
    return ctx.write(
        lambda session: _wire(
            session,
            service.approve(session, ctx.principal, paymentId, now, new_credit_limit=body.creditLimit),
        )
    )


@router.post("/payments/{paymentId}/denial", summary="Deny a purchase under review")
def deny(
    paymentId: str,
    body: DenialIn,
    ctx: Annotated[RequestContext, Depends(authorized(resources.EDIT_CREDITS))],
):
    now = now_of(ctx.request)
    return ctx.write(
        lambda session: _wire(session, service.deny(session, ctx.principal, paymentId, now, body.reason))
    )
