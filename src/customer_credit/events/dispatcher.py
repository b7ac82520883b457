"""Delivers webhook deliveries: claim in one transaction, POST outside any transaction, record
the outcome in another. At least once: a claim whose worker died is taken again when its lease
ends, with the same webhook-id. In order per account and endpoint: a delivery waits while an
earlier one of the same account is pending or in flight."""

import http.client
import logging
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased

from customer_credit.db.engine import Database
from customer_credit.events import signing
from customer_credit.events.models import (
    CANCELLED,
    DELIVERED,
    DELIVERING,
    FAILED,
    PENDING,
    Event,
    WebhookDelivery,
    WebhookEndpoint,
)
from customer_credit.settings import Settings

log = logging.getLogger("customer_credit.webhooks")
RESPONSE_EXCERPT_CHARS = 500
USER_AGENT = "customer-credit-webhooks/1"


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    attempt: int
    endpoint_id: int
    url: str
    secret: str
    event_public_id: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    response_excerpt: str | None = None
    error: str | None = None


def backoff_s(settings: Settings, attempt: int) -> float:
    """The wait after the attempt-th failure: base × 2^(attempt−1), capped."""
    return min(settings.webhook_retry_base_s * 2 ** (attempt - 1), settings.webhook_retry_max_delay_s)


def claim(db: Database, now: datetime, settings: Settings, *, limit: int) -> list[Claimed]:
    earlier = aliased(WebhookDelivery)
    blocked = exists().where(
        earlier.endpoint_id == WebhookDelivery.endpoint_id,
        earlier.ordering_key == WebhookDelivery.ordering_key,
        earlier.seq < WebhookDelivery.seq,
        earlier.status.in_((PENDING, DELIVERING)),
    )
    due = or_(
        and_(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now),
        and_(WebhookDelivery.status == DELIVERING, WebhookDelivery.lease_until <= now),
    )
    lease = timedelta(seconds=settings.webhook_timeout_s * 3 + 30)
    with db.write() as session:
        rows = session.scalars(
            select(WebhookDelivery)
            .where(due, ~blocked)
            .order_by(WebhookDelivery.seq)
            .limit(limit)
            .with_for_update(skip_locked=True, of=WebhookDelivery)
        ).all()
        claimed = []
        for delivery in rows:
            endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
            event = session.get(Event, delivery.event_id)
            delivery.status = DELIVERING
            delivery.attempts += 1
            delivery.lease_until = now + lease
            delivery.last_attempt_at = now
            if delivery.first_attempt_at is None:
                delivery.first_attempt_at = now
            claimed.append(
                Claimed(
                    delivery_id=delivery.id,
                    attempt=delivery.attempts,
                    endpoint_id=endpoint.id,
                    url=endpoint.url,
                    secret=endpoint.secret,
                    event_public_id=event.public_id,
                    body=event.body.encode(),
                )
            )
    return claimed


def post(url: str, headers: dict[str, str], body: bytes, timeout_s: float) -> Outcome:
    """One POST; any 2xx is a success. Redirects are not followed (a receiver must answer)."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout_s, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s)
    try:
        connection.request(
            "POST",
            path,
            body=body,
            headers={
                **headers,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
        )
        response = connection.getresponse()
        excerpt = response.read(4 * RESPONSE_EXCERPT_CHARS).decode("utf-8", "replace")
        excerpt = excerpt[:RESPONSE_EXCERPT_CHARS]
        return Outcome(200 <= response.status < 300, response.status, excerpt)
    except (OSError, http.client.HTTPException) as error:
        return Outcome(False, error=f"{type(error).__name__}: {error}"[:500])
    finally:
        connection.close()


def _apply(delivery: WebhookDelivery, item: Claimed, outcome: Outcome, now: datetime, settings: Settings) -> None:
    if delivery.status in (DELIVERED, FAILED, CANCELLED) or (
        delivery.status != DELIVERING and not outcome.ok
    ):
        return  # endpoint deleted meanwhile, or another worker finished it
    if not outcome.ok and delivery.attempts != item.attempt:
        return  # our lease ended and another worker owns the delivery now
    delivery.last_status_code = outcome.status_code
    delivery.last_response = outcome.response_excerpt
    delivery.last_error = outcome.error
    delivery.lease_until = None
    if outcome.ok:
        delivery.status = DELIVERED
        delivery.delivered_at = now
        return
    window_ends = delivery.first_attempt_at + timedelta(seconds=settings.webhook_retry_window_s)
    retry_at = now + timedelta(seconds=backoff_s(settings, delivery.attempts))
    if retry_at > window_ends:
        delivery.status = FAILED
        log.warning(
            "webhook delivery failed for good", extra={"delivery": delivery.id, "attempts": delivery.attempts}
        )
    else:
        delivery.status = PENDING
        delivery.next_attempt_at = retry_at


def mark_all(db: Database, results: list[tuple[Claimed, Outcome]], now: datetime, settings: Settings) -> None:
    """Records a batch's outcomes in one transaction. The batch holds at most one delivery per
    endpoint and account (the next one waits), so recording them together keeps the order."""
    with db.write() as session:
        for item, outcome in sorted(results, key=lambda pair: pair[0].delivery_id):
            delivery = session.scalar(
                select(WebhookDelivery).where(WebhookDelivery.id == item.delivery_id).with_for_update()
            )
            _apply(delivery, item, outcome, now, settings)


def deliver_due(db: Database, now: datetime) -> int:
    """A job with its own transactions: claims a batch, POSTs them (a few at a time), records
    the outcomes. Returns the number of attempts made."""
    settings: Settings = db.settings
    claimed = claim(db, now, settings, limit=settings.webhook_batch_size)
    if not claimed:
        return 0
    unreachable: dict[int, Outcome] = {}
    guard = threading.Lock()

    def attempt(item: Claimed) -> Outcome:
        with guard:
            known = unreachable.get(item.endpoint_id)
        if known is not None:
            return known  # do not wait out a connect timeout again for this endpoint
        outcome = post(
            item.url,
            signing.headers(item.secret, item.event_public_id, item.body),
            item.body,
            settings.webhook_timeout_s,
        )
        if outcome.status_code is None and not outcome.ok:
            with guard:
                unreachable[item.endpoint_id] = outcome
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, min(len(claimed), settings.webhook_concurrency))) as pool:
        outcomes = list(pool.map(attempt, claimed))
    mark_all(db, list(zip(claimed, outcomes)), now, settings)
    return len(claimed)
