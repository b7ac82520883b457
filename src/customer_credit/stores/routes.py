"""HTTP for the store configuration."""

from typing import Annotated

from fastapi import APIRouter, Depends

from customer_credit.api.context import RequestContext, authorized
from customer_credit.api.wire import DecimalRoute
from customer_credit.auth import resources
from customer_credit.stores import service
from customer_credit.stores.schemas import StoreConfigIn, config_wire

router = APIRouter(prefix="/api/creditcontrol", tags=["Store configuration"], route_class=DecimalRoute)


@router.get("/storeconfig", summary="Retrieve the store configuration")
def retrieve_store_config(
    ctx: Annotated[RequestContext, Depends(authorized(resources.READ_CONFIGURATION))],
):
    return ctx.read(lambda session: config_wire(service.get_config(session, ctx.principal.store_id)))


@router.put("/storeconfig", summary="Create or change the store configuration")
def save_store_config(
    body: StoreConfigIn,
    ctx: Annotated[RequestContext, Depends(authorized(resources.EDIT_CONFIGURATION))],
):
    return ctx.write(
        lambda session: config_wire(service.save_config(session, ctx.principal.store_id, body.to_columns()))
    )
