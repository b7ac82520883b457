"""The API extension for My Credits links of an account: create (the URL is shown once), list,
revoke. Creating and revoking a link needs the resource that adds and removes holders (Create
Checking Accounts): both decide who may see the account. Listing shows no token, so reading
accounts is enough."""

import json
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import StrictStr, field_validator

from customer_credit.api.context import RequestContext, authorized
from customer_credit.api.types import WholeNumber, WireModel
from customer_credit.api.wire import DecimalRoute, JsonResponse, timestamp
from customer_credit.auth import resources
from customer_credit.clock import now_of
from customer_credit.my_credits import links
from customer_credit.my_credits.models import MyCreditsLink

api = APIRouter(
    prefix="/api/creditcontrol/accounts/{creditAccountId}/mycredits/links",
    tags=["My Credits (extension)"],
    route_class=DecimalRoute,
)
MAX_TTL_MINUTES = int(links.MAX_TTL.total_seconds() // 60)


class LinkIn(WireModel):
    email: StrictStr
    ttlMinutes: WholeNumber | None = None

    @field_validator("ttlMinutes")
    @classmethod
    def _ttl(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= MAX_TTL_MINUTES:
            raise ValueError(f"must be between 1 and {MAX_TTL_MINUTES}")
        return value


def link_wire(link: MyCreditsLink, account_public_id: str, now: datetime) -> dict:
    return {
        "id": link.public_id,
        "creditAccountId": account_public_id,
        "email": link.email,
        "status": links.status_of(link, now),
        "createdAt": timestamp(link.created_at),
        "createdBy": link.created_by,
        "expiresAt": timestamp(link.expires_at),
        "revokedAt": timestamp(link.revoked_at),
        "revokedReason": link.revoked_reason,
    }


@api.post("", summary="Create a My Credits link for the account's owner or a holder (extension)")
def create_link(
    creditAccountId: str,
    body: LinkIn,
    request: Request,
    ctx: Annotated[RequestContext, Depends(authorized(resources.CREATE_ACCOUNTS))],
):
    ttl = (
        timedelta(minutes=body.ttlMinutes)
        if body.ttlMinutes
        else links.default_ttl(request.app.state.settings)
    )
    now = now_of(request)

    minted: dict[str, str] = {}

    def work(session):
        issued = links.issue_link(session, ctx.principal, creditAccountId, body.email, ttl, now=now)
        minted["url"] = issued.url(str(request.base_url))
        return link_wire(issued.link, creditAccountId, now)

    return _with_url(ctx.write(work), minted.get("url"))


def _with_url(response: Response, url: str | None) -> Response:
    """Adds the URL to the answer after `ctx.write`, so that it never enters a stored
    Idempotency-Key outcome (the token is stored nowhere): a replay answers the same link with
    `"url": null`; whoever lost the first answer revokes that link and creates another."""
    if response.status_code != 200:
        return response
    kept = {
        name: value
        for name, value in response.headers.items()
        if name not in ("content-length", "content-type")
    }
    # Starlette types a body as bytes or a memoryview; json.loads takes only the former.
    return JsonResponse({**json.loads(bytes(response.body)), "url": url}, headers=kept)


@api.get("", summary="List the account's My Credits links, newest first (extension)")
def list_links(
    creditAccountId: str,
    request: Request,
    ctx: Annotated[RequestContext, Depends(authorized(resources.READ_ACCOUNTS))],
):
    now = now_of(request)
    return ctx.read(
        lambda session: {
            "data": [
                link_wire(link, creditAccountId, now)
                for link in links.list_links(session, ctx.principal, creditAccountId)
            ]
        }
    )


@api.delete("/{linkId}", summary="Revoke a My Credits link at once (extension)")
def revoke_link(
    creditAccountId: str,
    linkId: str,
    request: Request,
    ctx: Annotated[RequestContext, Depends(authorized(resources.CREATE_ACCOUNTS))],
):
    now = now_of(request)
    return ctx.write(
        lambda session: link_wire(
            links.revoke_link(session, ctx.principal, creditAccountId, linkId, now=now), creditAccountId, now
        )
    )
