"""HTTP for the overdue policy (extension, docs/credit-control.md): the store's setting, and the
per-account overrides. Setting or revoking an override decides who may buy on credit, so it
needs Edit credits; reading the history needs Read Checking Accounts."""

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import StrictStr

from customer_credit.api.context import RequestContext, authorized
from customer_credit.api.types import WholeNumber, WireModel
from customer_credit.api.wire import DecimalRoute
from customer_credit.auth import resources
from customer_credit.clock import now_of
from customer_credit.credit_control import overdue_policy
from customer_credit.dates import parse_datetime

router = APIRouter(prefix="/api/creditcontrol", tags=["Credit control (extension)"], route_class=DecimalRoute)
OVERRIDES = "/accounts/{creditAccountId}/overdueoverrides"


class OverduePolicyIn(WireModel):
    # "off", "flag" or "block"; a field left out keeps its value.
    mode: StrictStr | None = None
    days: WholeNumber | None = None


class OverrideIn(WireModel):
    until: StrictStr
    reason: StrictStr | None = None


@router.get("/overduepolicy", summary="The store's overdue policy (extension)")
def get_policy(ctx: Annotated[RequestContext, Depends(authorized(resources.READ_CONFIGURATION))]):
    return ctx.read(
        lambda session: overdue_policy.policy_wire(
            overdue_policy.get_settings(session, ctx.principal.store_id)
        )
    )


@router.put("/overduepolicy", summary="Change the store's overdue policy (only the fields sent; extension)")
def put_policy(
    body: OverduePolicyIn,
    ctx: Annotated[RequestContext, Depends(authorized(resources.EDIT_CONFIGURATION))],
):
    now = now_of(ctx.request)
    return ctx.write(
        lambda session: overdue_policy.policy_wire(
            overdue_policy.save_settings(session, ctx.principal, body.mode, body.days, now=now)
        )
    )


@router.get(OVERRIDES, summary="The account's overdue overrides, newest first (extension)")
def list_overrides(
    creditAccountId: str,
    ctx: Annotated[RequestContext, Depends(authorized(resources.READ_ACCOUNTS))],
):
    now = now_of(ctx.request)
    return ctx.read(
        lambda session: {
            "data": [
                overdue_policy.override_wire(override, now)
                for override in overdue_policy.list_overrides(session, ctx.principal, creditAccountId)
            ]
        }
    )


@router.put(
    OVERRIDES + "/current",
    summary="Let the account take new holds despite the overdue policy, until a moment (extension)",
)
def set_override(
    creditAccountId: str,
    body: OverrideIn,
    ctx: Annotated[RequestContext, Depends(authorized(resources.EDIT_CREDITS))],
):
    now = now_of(ctx.request)
    until = parse_datetime("until", body.until)
    return ctx.write(
        lambda session: overdue_policy.override_wire(
            overdue_policy.set_override(session, ctx.principal, creditAccountId, until, body.reason, now=now),
            now,
        )
    )


@router.delete(OVERRIDES + "/current", summary="Revoke the account's overdue override at once (extension)")
def revoke_override(
    creditAccountId: str,
    ctx: Annotated[RequestContext, Depends(authorized(resources.EDIT_CREDITS))],
):
    now = now_of(ctx.request)
    return ctx.write(
        lambda session: overdue_policy.override_wire(
            overdue_policy.revoke_override(session, ctx.principal, creditAccountId, now=now), now
        )
    )
