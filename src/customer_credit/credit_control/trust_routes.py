"""HTTP for an account's trust level (extension, docs/credit-control.md). Setting it is a
judgement on who may buy on credit, so it needs Edit credits; the level itself is read with
the account (`trustLevel` in every account answer)."""

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import StrictStr

from customer_credit.accounts.schemas import account_wire
from customer_credit.api.context import RequestContext, authorized
from customer_credit.api.types import WireModel
from customer_credit.api.wire import DecimalRoute
from customer_credit.auth import resources
from customer_credit.clock import now_of
from customer_credit.credit_control import trust

router = APIRouter(prefix="/api/creditcontrol", tags=["Credit control (extension)"], route_class=DecimalRoute)


class TrustLevelIn(WireModel):
    # "good", "normal" or "watch".
    trustLevel: StrictStr
    reason: StrictStr | None = None


@router.put(
    "/accounts/{creditAccountId}/trustlevel",
    summary="Set the account's trust level: good, normal or watch (extension)",
)
def set_trust_level(
    creditAccountId: str,  # noqa: N803 - the contract's name for the path parameter
    body: TrustLevelIn,
    ctx: Annotated[RequestContext, Depends(authorized(resources.EDIT_CREDITS))],
):
    now = now_of(ctx.request)

    def work(session):
        account, _changed = trust.set_trust_level(
            session, ctx.principal, creditAccountId, body.trustLevel, body.reason, now=now
        )
        return account_wire(account)

    return ctx.write(work)
