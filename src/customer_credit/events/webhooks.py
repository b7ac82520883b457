"""Webhook endpoints of a store (create, list, delete) and the fan-out that turns sequenced
events into one delivery per interested endpoint."""

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from customer_credit.db.base import utcnow
from customer_credit.errors import Conflict, InvalidInput, NotFound, field_error
from customer_credit.events.destinations import (
    AllowList,
    DestinationRefused,
    HostUnresolved,
    InvalidWebhookUrl,
    checked_destination,
)
from customer_credit.events.models import (
    CANCELLED,
    DELIVERED,
    FAILED,
    OPEN_STATUSES,
    PENDING,
    QUEUED,
    Event,
    EventSequence,
    WebhookDelivery,
    WebhookEndpoint,
)
from customer_credit.events.signing import new_secret
from customer_credit.events.types import EVENT_TYPES
from customer_credit.validation import clean_http_url, clean_text

MAX_ENDPOINTS_PER_STORE = 20
FANOUT_BATCH = 500


@dataclass(frozen=True)
class CheckedUrl:
    """A webhook URL whose destination passed the check; made by check_url only."""

    value: str


def _url_error(code: str, message: str) -> InvalidInput:
    return InvalidInput(f"url: {message}", code=code, details=[{"field": "url", "message": message}])


def check_url(url: str, allowed: AllowList) -> CheckedUrl:
    """Refuses a URL that is not http(s), carries a user name or password, or whose host is (or
    resolves to) a non-public address the operator did not allow. It looks the name up: call it
    before opening the transaction. Deliveries check again (the answer may change)."""
    url = clean_http_url("url", url)
    try:
        checked_destination(url, allowed)
    except InvalidWebhookUrl as error:
        raise field_error("url", str(error)) from None
    except HostUnresolved:
        raise _url_error("WebhookHostUnresolved", "the host name does not resolve") from None
    except DestinationRefused:
        raise _url_error(
            "WebhookDestinationNotAllowed",
            "webhooks may only go to public addresses (an operator can allow internal hosts)",
        ) from None
    return CheckedUrl(url)


def _clean_types(event_types: list[str] | None) -> list[str]:
    wanted = list(dict.fromkeys(event_types or []))
    unknown = [name for name in wanted if name not in EVENT_TYPES]
    if unknown:
        raise field_error("eventTypes", f"unknown event types: {', '.join(unknown)}")
    return wanted


def create_endpoint(
    session: Session,
    store_id: int,
    *,
    url: CheckedUrl,
    event_types: list[str] | None = None,
    description: str | None = None,
) -> WebhookEndpoint:
    if not isinstance(url, CheckedUrl):
        raise TypeError("create_endpoint takes the CheckedUrl that check_url returns")
    types = _clean_types(event_types)
    if description is not None:
        description = clean_text("description", description, max_length=500)
    active = session.scalars(
        select(func.count()).where(WebhookEndpoint.store_id == store_id, WebhookEndpoint.deleted_at.is_(None))
    ).one()
    if active >= MAX_ENDPOINTS_PER_STORE:
        raise Conflict(
            f"a store may have at most {MAX_ENDPOINTS_PER_STORE} webhook endpoints",
            code="TooManyWebhookEndpoints",
        )
    # Starts after the events already sequenced: an endpoint receives what happens from now on.
    last_seq = session.scalar(select(EventSequence.last_seq).where(EventSequence.id == 1)) or 0
    endpoint = WebhookEndpoint(
        public_id="ep_" + secrets.token_hex(12),
        store_id=store_id,
        url=url.value,
        description=description,
        event_types=types,
        secret=new_secret(),
        cursor_seq=last_seq,
        created_at=utcnow(),
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def list_endpoints(session: Session, store_id: int) -> list[WebhookEndpoint]:
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.store_id == store_id, WebhookEndpoint.deleted_at.is_(None))
            .order_by(WebhookEndpoint.id)
        )
    )


def get_endpoint(session: Session, store_id: int, public_id: str) -> WebhookEndpoint:
    endpoint = session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.store_id == store_id,
            WebhookEndpoint.public_id == public_id,
            WebhookEndpoint.deleted_at.is_(None),
        )
    )
    if endpoint is None:
        raise NotFound(f"no webhook endpoint {public_id}", code="WebhookEndpointNotFound")
    return endpoint


def delete_endpoint(session: Session, store_id: int, public_id: str) -> WebhookEndpoint:
    """Stops deliveries at once; the endpoint row and its delivery log stay for audit."""
    endpoint = get_endpoint(session, store_id, public_id)
    endpoint.deleted_at = utcnow()
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status.in_(OPEN_STATUSES))
        .values(status=CANCELLED, lease_until=None)
    )
    return endpoint


def delivery_counts(session: Session, endpoint: WebhookEndpoint) -> dict[str, int]:
    rows = session.execute(
        select(WebhookDelivery.status, func.count())
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .group_by(WebhookDelivery.status)
    ).all()
    return dict(rows)


def deliveries(
    session: Session, endpoint: WebhookEndpoint, *, status: str | None, limit: int, offset: int = 0
) -> list[tuple[WebhookDelivery, str, str]]:
    """The newest deliveries first, with their event's id and type."""
    query = (
        select(WebhookDelivery, Event.public_id, Event.type)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.seq.desc())
        .offset(offset)
        .limit(limit)
    )
    if status:
        query = query.where(WebhookDelivery.status == status)
    return [(row[0], row[1], row[2]) for row in session.execute(query)]


def _delivery_of(
    session: Session, store_id: int, endpoint_public_id: str, event_public_id: str
) -> tuple[WebhookEndpoint, WebhookDelivery]:
    endpoint = get_endpoint(session, store_id, endpoint_public_id)
    # The endpoint's row lock first, as fan-out and the dispatcher's promotion take it.
    session.execute(
        select(WebhookEndpoint.id).where(WebhookEndpoint.id == endpoint.id).with_for_update()
    ).all()
    delivery = session.scalar(
        select(WebhookDelivery)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint.id, Event.public_id == event_public_id)
        .with_for_update()
    )
    if delivery is None:
        raise NotFound(
            f"no delivery of {event_public_id} to {endpoint_public_id}", code="WebhookDeliveryNotFound"
        )
    return endpoint, delivery


def _send_again(
    session: Session, endpoint: WebhookEndpoint, delivery: WebhookDelivery, now: datetime
) -> None:
    """The delivery starts over (attempts and retry window from zero, the same webhook-id), due
    now; `queued` behind the account's open delivery to the endpoint, so order per account holds."""
    busy = session.scalar(
        select(func.count()).where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.ordering_key == delivery.ordering_key,
            WebhookDelivery.status.in_(OPEN_STATUSES),
            WebhookDelivery.id != delivery.id,
        )
    )
    delivery.status = QUEUED if busy else PENDING
    delivery.attempts = 0
    delivery.first_attempt_at = None
    delivery.next_attempt_at = now
    delivery.lease_until = None
    session.flush()


def retry_delivery(
    session: Session, store_id: int, endpoint_public_id: str, event_public_id: str, *, now: datetime
) -> WebhookDelivery:
    """A delivery that failed for good is tried again (e.g. once the receiver is fixed)."""
    endpoint, delivery = _delivery_of(session, store_id, endpoint_public_id, event_public_id)
    if delivery.status != FAILED:
        raise Conflict(
            f"only a failed delivery can be retried; this one is {delivery.status}", code="DeliveryNotFailed"
        )
    _send_again(session, endpoint, delivery, now)
    return delivery


def resend_delivery(
    session: Session, store_id: int, endpoint_public_id: str, event_public_id: str, *, now: datetime
) -> WebhookDelivery:
    """A delivered event is sent once more (a receiver that lost it); receivers deduplicate on
    webhook-id, which stays the same."""
    endpoint, delivery = _delivery_of(session, store_id, endpoint_public_id, event_public_id)
    if delivery.status != DELIVERED:
        raise Conflict(
            f"only a delivered delivery can be resent; this one is {delivery.status}",
            code="DeliveryNotDelivered",
        )
    _send_again(session, endpoint, delivery, now)
    return delivery


def fanout(session: Session, now: datetime) -> int:
    """Creates the deliveries of newly sequenced events, endpoint by endpoint: `pending` when
    the account has no open delivery to the endpoint, else `queued` behind it. Each endpoint row
    is claimed with SKIP LOCKED (the dispatcher takes the same lock to promote the next queued
    delivery), so fan-out and promotion never miss each other."""
    endpoint_ids = session.scalars(
        select(WebhookEndpoint.id).where(WebhookEndpoint.deleted_at.is_(None)).order_by(WebhookEndpoint.id)
    ).all()
    created = 0
    for endpoint_id in endpoint_ids:
        endpoint = session.scalar(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.deleted_at.is_(None))
            .with_for_update(skip_locked=True)
        )
        if endpoint is None:
            continue
        rows = session.execute(
            select(Event.id, Event.seq, Event.account_id, Event.type)
            .where(Event.store_id == endpoint.store_id, Event.seq > endpoint.cursor_seq)
            .order_by(Event.seq)
            .limit(FANOUT_BATCH)
        ).all()
        if not rows:
            continue
        wanted = set(endpoint.event_types or [])
        chosen = [row for row in rows if not wanted or row.type in wanted]
        keys = {row.account_id or 0 for row in chosen}
        busy = (
            set(
                session.scalars(
                    select(WebhookDelivery.ordering_key)
                    .where(
                        WebhookDelivery.endpoint_id == endpoint.id,
                        WebhookDelivery.status.in_(OPEN_STATUSES),
                        WebhookDelivery.ordering_key.in_(keys),
                    )
                    .distinct()
                )
            )
            if keys
            else set()
        )
        for event_id, seq, account_id, _type in chosen:
            key = account_id or 0
            session.add(
                WebhookDelivery(
                    endpoint_id=endpoint.id,
                    event_id=event_id,
                    ordering_key=key,
                    seq=seq,
                    status=QUEUED if key in busy else PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            busy.add(key)
        last_seq = rows[-1].seq
        if last_seq is None:  # `seq > cursor_seq` leaves the events not sequenced yet out
            raise RuntimeError("fan-out read an event that has no sequence number")
        endpoint.cursor_seq = last_seq
        created += len(chosen) or 1
    session.flush()
    return created
