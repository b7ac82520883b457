"""HTTP for events (extension): the event feed by cursor, and webhook endpoints."""

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query

from customer_credit.api.context import RequestContext, authorized
from customer_credit.api.wire import DecimalRoute
from customer_credit.auth import resources
from customer_credit.errors import field_error
from customer_credit.events import webhooks
from customer_credit.events.destinations import allow_list
from customer_credit.events.models import DELIVERY_STATUSES
from customer_credit.events.outbox import events_after, sequence_pending
from customer_credit.events.schemas import WebhookEndpointIn, delivery_wire, endpoint_wire

router = APIRouter(prefix="/api/creditcontrol", tags=["Events and webhooks"], route_class=DecimalRoute)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def _whole(name: str, raw: str | None, default: int, *, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 19:
        raise field_error(name, "must be a whole number")
    value = int(raw)
    if not low <= value <= high:
        raise field_error(name, f"must be between {low} and {high}")
    return value


@router.get("/events", summary="Read the store's events after a cursor (extension)")
def list_events(
    ctx: Annotated[RequestContext, Depends(authorized(resources.READ_ACCOUNTS))],
    after: str | None = None,
    limit: str | None = None,
):
    """Events oldest first. Pass the returned `cursor` as `after` to read on; an empty `data`
    means nothing new yet. Needs Read Checking Accounts, Read Invoices and Read Statements
    (or Main Access): events carry accounts, invoices and ledger entries."""
    ctx.principal.require(resources.READ_INVOICES)
    ctx.principal.require(resources.READ_STATEMENTS)
    cursor = _whole("after", after, 0, low=0, high=2**62)
    size = _whole("limit", limit, DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    with ctx.db.write() as session:
        sequence_pending(session)

    def work(session):
        found = events_after(session, ctx.principal.store_id, cursor, size + 1)
        page = found[:size]
        return {
            "data": [orjson.Fragment(event.body.encode()) for event in page],
            "cursor": str(page[-1].seq if page else cursor),
            "hasMore": len(found) > size,
        }

    return ctx.read(work)


@router.post("/webhooks", summary="Register a webhook endpoint (extension)")
def create_webhook(
    body: WebhookEndpointIn,
    ctx: Annotated[RequestContext, Depends(authorized(resources.EDIT_CONFIGURATION))],
):
    """The response carries the signing `secret` once; keep it to verify deliveries. The URL must
    reach a public address unless the operator allowed its host (docs/events.md)."""
    url = webhooks.check_url(body.url, allow_list(ctx.db.settings))  # a DNS lookup: before the transaction

    def work(session):
        endpoint = webhooks.create_endpoint(
            session,
            ctx.principal.store_id,
            url=url,
            event_types=body.eventTypes,
            description=body.description,
        )
        return {**endpoint_wire(endpoint), "secret": endpoint.secret}

    return ctx.write(work)


@router.get("/webhooks", summary="List webhook endpoints (extension)")
def list_webhooks(ctx: Annotated[RequestContext, Depends(authorized(resources.READ_CONFIGURATION))]):
    def work(session):
        return {
            "data": [
                endpoint_wire(endpoint, counts=webhooks.delivery_counts(session, endpoint))
                for endpoint in webhooks.list_endpoints(session, ctx.principal.store_id)
            ]
        }

    return ctx.read(work)


@router.delete("/webhooks/{endpointId}", summary="Delete a webhook endpoint (extension)")
def delete_webhook(
    endpointId: str,
    ctx: Annotated[RequestContext, Depends(authorized(resources.EDIT_CONFIGURATION))],
):
    def work(session):
        endpoint = webhooks.delete_endpoint(session, ctx.principal.store_id, endpointId)
        return endpoint_wire(endpoint)

    return ctx.write(work)


@router.get("/webhooks/{endpointId}/deliveries", summary="An endpoint's delivery log (extension)")
def webhook_deliveries(
    endpointId: str,
    ctx: Annotated[RequestContext, Depends(authorized(resources.READ_CONFIGURATION))],
    status: str | None = None,
    limit: Annotated[str | None, Query()] = None,
):
    if status not in (None, "") and status not in DELIVERY_STATUSES:
        raise field_error("status", f"must be one of {', '.join(DELIVERY_STATUSES)}")
    size = _whole("limit", limit, DEFAULT_LIMIT, low=1, high=MAX_LIMIT)

    def work(session):
        endpoint = webhooks.get_endpoint(session, ctx.principal.store_id, endpointId)
        rows = webhooks.deliveries(session, endpoint, status=status or None, limit=size)
        return {"data": [delivery_wire(*row) for row in rows]}

    return ctx.read(work)
