"""HTTP for payment conditions (an extension: the contract has none)."""

from typing import Annotated

from fastapi import APIRouter, Depends

from customer_credit.api.context import RequestContext, authorized
from customer_credit.api.wire import DecimalRoute
from customer_credit.auth import resources
from customer_credit.errors import field_error
from customer_credit.payment_conditions import service
from customer_credit.payment_conditions.schemas import PaymentConditionIn, condition_wire

router = APIRouter(prefix="/api/creditcontrol", tags=["Payment conditions"], route_class=DecimalRoute)
CAN_READ = authorized(resources.READ_CONFIGURATION)
CAN_EDIT = authorized(resources.EDIT_CONFIGURATION)


@router.get("/paymentconditions", summary="List the store's payment conditions")
def list_conditions(ctx: Annotated[RequestContext, Depends(CAN_READ)]):
    return ctx.read(
        lambda session: {
            "data": [condition_wire(c) for c in service.list_conditions(session, ctx.principal.store_id)]
        }
    )


@router.get("/paymentconditions/{name}", summary="Retrieve a payment condition")
def retrieve_condition(name: str, ctx: Annotated[RequestContext, Depends(CAN_READ)]):
    return ctx.read(
        lambda session: condition_wire(service.get_condition(session, ctx.principal.store_id, name))
    )


@router.put("/paymentconditions/{name}", summary="Create or replace a payment condition")
def put_condition(name: str, body: PaymentConditionIn, ctx: Annotated[RequestContext, Depends(CAN_EDIT)]):
    if body.name is not None and body.name != name:
        raise field_error("name", "must be the name in the path")
    return ctx.write(
        lambda session: condition_wire(
            service.put_condition(
                session,
                ctx.principal.store_id,
                name,
                due_days=body.dueDays,
                every_days=body.everyDays,
                interest_rate=body.interestRatePerInstallment,
                is_default=body.default,
            )
        )
    )


@router.delete("/paymentconditions/{name}", summary="Delete a payment condition")
def delete_condition(name: str, ctx: Annotated[RequestContext, Depends(CAN_EDIT)]):
    def work(session):
        service.delete_condition(session, ctx.principal.store_id, name)

    return ctx.write(work)
