"""Webhook endpoints on the wire (extension of the API)."""

from pydantic import StrictStr

from customer_credit.api.types import WireModel
from customer_credit.api.wire import timestamp
from customer_credit.events.models import WebhookDelivery, WebhookEndpoint


class WebhookEndpointIn(WireModel):
    url: StrictStr
    eventTypes: list[StrictStr] | None = None
    description: StrictStr | None = None


def endpoint_wire(endpoint: WebhookEndpoint, *, counts: dict[str, int] | None = None) -> dict:
    wire: dict[str, object] = {
        "id": endpoint.public_id,
        "url": endpoint.url,
        "eventTypes": list(endpoint.event_types or []),
        "description": endpoint.description,
        "createdAt": timestamp(endpoint.created_at),
    }
    if counts is not None:
        wire["deliveries"] = counts
    return wire


def delivery_wire(delivery: WebhookDelivery, event_id: str, event_type: str) -> dict:
    return {
        "eventId": event_id,
        "eventType": event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "lastAttemptAt": timestamp(delivery.last_attempt_at),
        "nextAttemptAt": timestamp(delivery.next_attempt_at) if delivery.status == "pending" else None,
        "lastStatusCode": delivery.last_status_code,
        "lastDurationMs": delivery.last_duration_ms,
        "lastError": delivery.last_error,  # a fixed category; the receiver's body is never kept
        "deliveredAt": timestamp(delivery.delivered_at),
    }
