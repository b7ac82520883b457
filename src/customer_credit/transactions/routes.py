"""HTTP for purchases on credit: holds, settlements, refunds."""

from typing import Annotated

from fastapi import APIRouter, Depends

from customer_credit.api.context import RequestContext, authorized
from customer_credit.api.wire import DecimalRoute
from customer_credit.auth import resources
from customer_credit.clock import now_of
from customer_credit.dates import parse_datetime
from customer_credit.money import from_cents
from customer_credit.transactions import service
from customer_credit.transactions.schemas import HoldIn, RefundIn, SettlementIn, hold_wire

router = APIRouter(prefix="/api/creditcontrol/accounts", tags=["Transactions"], route_class=DecimalRoute)
CAN_TRANSACT = authorized(resources.CREATE_STATEMENTS)


def _hold_fields(body: HoldIn) -> dict:
    return {
        "value": body.value,
        "settle": body.settle,
        "installments": body.installments,
        "expires_at": (
            parse_datetime("expirationDate", body.expirationDate) if body.expirationDate else None
        ),
        "order_id": body.orderId,
        "open_for_email": body.email,
    }


@router.post("/{creditAccountId}/transactions", summary="Create a pre-authorization")
@router.post(
    "/{creditAccountId}/transaction",
    summary="Create a pre-authorization (legacy alias of …/transactions, see docs/clients.md)",
    deprecated=True,
)
def create_hold(
    creditAccountId: str,
    body: HoldIn,
    ctx: Annotated[RequestContext, Depends(CAN_TRANSACT)],
):
    fields = _hold_fields(body)
    # The request's clock (customer_credit.clock): the overdue policy counts days overdue at it.
    now = now_of(ctx.request)
    return ctx.write(
        lambda session: hold_wire(
            service.create_hold(session, ctx.principal, creditAccountId, now=now, **fields)
        )
    )


@router.put(
    "/{creditAccountId}/transactions/{transactionId}", summary="Create or update a pre-authorization by id"
)
def put_hold(
    creditAccountId: str,
    transactionId: str,
    body: HoldIn,
    ctx: Annotated[RequestContext, Depends(CAN_TRANSACT)],
):
    fields = _hold_fields(body)
    now = now_of(ctx.request)
    return ctx.write(
        lambda session: hold_wire(
            service.put_hold(session, ctx.principal, creditAccountId, transactionId, now=now, **fields)
        )
    )


@router.delete("/{creditAccountId}/transactions/{transactionId}", summary="Cancel a pre-authorization")
def cancel_hold(
    creditAccountId: str,
    transactionId: str,
    ctx: Annotated[RequestContext, Depends(CAN_TRANSACT)],
):
    def work(session):
        service.cancel_hold(session, ctx.principal, creditAccountId, transactionId, now=now_of(ctx.request))

    return ctx.write(work)


@router.put(
    "/{creditAccountId}/transactions/{transactionId}/settlement",
    summary="Create or update a settlement",
)
def settle(
    creditAccountId: str,
    transactionId: str,
    body: SettlementIn,
    ctx: Annotated[RequestContext, Depends(CAN_TRANSACT)],
):
    def work(session):
        transaction = service.settle(
            session,
            ctx.principal,
            creditAccountId,
            transactionId,
            value=body.value,
            payment_condition=body.paymentCondition,
            now=now_of(ctx.request),
        )
        answer = {"id": transaction.public_id, "value": from_cents(transaction.settled_cents)}
        if transaction.interest_cents:
            # Part of `value`: what the payment condition's interest added to the settlement.
            answer["interest"] = from_cents(transaction.interest_cents)
        return answer

    return ctx.write(work)


@router.post(
    "/{creditAccountId}/transactions/{transactionId}/refunds",
    summary="Refund a settlement, partly or wholly",
)
def refund(
    creditAccountId: str,
    transactionId: str,
    body: RefundIn,
    ctx: Annotated[RequestContext, Depends(CAN_TRANSACT)],
):
    return ctx.write(
        lambda session: {
            "value": from_cents(
                service.refund(
                    session,
                    ctx.principal,
                    creditAccountId,
                    transactionId,
                    value=body.value,
                    now=now_of(ctx.request),
                )
            )
        }
    )
