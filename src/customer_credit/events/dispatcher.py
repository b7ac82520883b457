"""Delivers webhook deliveries: claim in one transaction, POST outside any transaction, record
the outcomes in another. At least once: a claim whose worker died is taken again when its
lease ends, with the same webhook-id. In order per account and endpoint: a delivery stays
`queued` until the account's earlier one is delivered or given up. Each POST goes only to a
destination checked at that moment (events.transport)."""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import aliased

from customer_credit.db.engine import Database
from customer_credit.events import signing
from customer_credit.events.destinations import allow_list
from customer_credit.events.models import (
    CANCELLED,
    DELIVERED,
    DELIVERING,
    FAILED,
    PENDING,
    QUEUED,
    Event,
    WebhookDelivery,
    WebhookEndpoint,
)
from customer_credit.events.transport import Outcome, post
from customer_credit.settings import Settings

log = logging.getLogger("customer_credit.webhooks")


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    attempt: int
    endpoint_id: int
    url: str
    secret: str
    event_public_id: str
    body: bytes


def backoff_s(settings: Settings, attempt: int) -> float:
    """The wait after the attempt-th failure: base × 2^(attempt−1), capped."""
    return min(settings.webhook_retry_base_s * 2 ** (attempt - 1), settings.webhook_retry_max_delay_s)


def claim_lease(settings: Settings, claimed: int) -> timedelta:
    """How long a claim of `claimed` deliveries stays its worker's: every round of
    `webhook_concurrency` POSTs may take up to three timeouts (connect, send, answer). Shorter,
    another worker would take back a live worker's deliveries and could repeat one of them
    after the account's next delivery, out of order."""
    rounds = -(-claimed // max(1, settings.webhook_concurrency))
    return timedelta(seconds=settings.webhook_timeout_s * 3 * max(1, rounds) + 30)


def claim(db: Database, now: datetime, settings: Settings, *, limit: int) -> list[Claimed]:
    """Takes due deliveries (and those whose worker's lease ran out) with SKIP LOCKED, so
    several workers share them; only an account's head delivery is ever pending."""
    due = or_(
        and_(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now),
        and_(WebhookDelivery.status == DELIVERING, WebhookDelivery.lease_until <= now),
    )
    with db.write() as session:
        rows = session.scalars(
            select(WebhookDelivery)
            .where(due)
            .order_by(WebhookDelivery.seq)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        lease = claim_lease(settings, len(rows))
        endpoint_ids = {row.endpoint_id for row in rows}
        event_ids = [row.event_id for row in rows]
        endpoints = {
            endpoint.id: endpoint
            for endpoint in session.scalars(
                select(WebhookEndpoint).where(WebhookEndpoint.id.in_(endpoint_ids))
            )
        }
        bodies = {
            event_id: (public_id, body)
            for event_id, public_id, body in session.execute(
                select(Event.id, Event.public_id, Event.body).where(Event.id.in_(event_ids))
            )
        }
        claimed = []
        for delivery in rows:
            endpoint = endpoints[delivery.endpoint_id]
            event_public_id, body = bodies[delivery.event_id]
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
                    event_public_id=event_public_id,
                    body=body.encode(),
                )
            )
    return claimed


def _apply(
    delivery: WebhookDelivery, item: Claimed, outcome: Outcome, now: datetime, settings: Settings
) -> None:
    if delivery.status in (DELIVERED, FAILED, CANCELLED) or (
        delivery.status != DELIVERING and not outcome.ok
    ):
        return  # endpoint deleted meanwhile, or another worker finished it
    if not outcome.ok and delivery.attempts != item.attempt:
        return  # our lease ended and another worker owns the delivery now
    delivery.last_status_code = outcome.status_code
    delivery.last_duration_ms = outcome.duration_ms
    delivery.last_error = outcome.error
    delivery.lease_until = None
    if outcome.ok:
        delivery.status = DELIVERED
        delivery.delivered_at = now
        return
    if delivery.first_attempt_at is None:  # `claim` sets it before the first attempt is sent
        raise RuntimeError("a webhook delivery has an outcome but no first attempt")
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


def _promote_next(session, finished: list[WebhookDelivery], now: datetime) -> None:
    """For each (endpoint, account) whose delivery is done, its next queued one becomes pending
    (one statement per endpoint, through the open-deliveries index)."""
    by_endpoint: dict[int, set[int]] = {}
    for delivery in finished:
        by_endpoint.setdefault(delivery.endpoint_id, set()).add(delivery.ordering_key)
    if not by_endpoint:
        return
    session.flush()
    earlier = aliased(WebhookDelivery)
    for endpoint_id, keys in sorted(by_endpoint.items()):
        first_queued = (
            select(func.min(earlier.seq))
            .where(
                earlier.endpoint_id == WebhookDelivery.endpoint_id,
                earlier.ordering_key == WebhookDelivery.ordering_key,
                earlier.status == QUEUED,
            )
            .scalar_subquery()
        )
        session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.endpoint_id == endpoint_id,
                WebhookDelivery.ordering_key.in_(sorted(keys)),
                WebhookDelivery.status == QUEUED,
                WebhookDelivery.seq == first_queued,
            )
            .values(status=PENDING, next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )


def mark_all(db: Database, results: list[tuple[Claimed, Outcome]], now: datetime, settings: Settings) -> None:
    """Records a batch's outcomes in one transaction, and promotes the next delivery of each
    account that is done. The endpoint rows are locked first (as fan-out and deletion do), so a
    delivery queued by a concurrent fan-out is always seen here."""
    with db.write() as session:
        session.execute(
            select(WebhookEndpoint.id)
            .where(WebhookEndpoint.id.in_({item.endpoint_id for item, _outcome in results}))
            .order_by(WebhookEndpoint.id)
            .with_for_update()
        ).all()
        deliveries = {
            delivery.id: delivery
            for delivery in session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.id.in_([item.delivery_id for item, _outcome in results]))
                .order_by(WebhookDelivery.id)
                .with_for_update()
            )
        }
        finished = []
        for item, outcome in results:
            delivery = deliveries[item.delivery_id]
            before = delivery.status
            _apply(delivery, item, outcome, now, settings)
            if before != delivery.status and delivery.status in (DELIVERED, FAILED):
                finished.append(delivery)
        _promote_next(session, finished, now)


def deliver_due(db: Database, now: datetime) -> int:
    """A job with its own transactions: claims a batch, POSTs them (a few at a time), records
    the outcomes. Returns the number of attempts made."""
    settings: Settings = db.settings
    claimed = claim(db, now, settings, limit=settings.webhook_batch_size)
    if not claimed:
        return 0
    allowed = allow_list(settings)
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
            allowed,
        )
        if outcome.status_code is None and not outcome.ok:
            with guard:
                unreachable[item.endpoint_id] = outcome
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, min(len(claimed), settings.webhook_concurrency))) as pool:
        outcomes = list(pool.map(attempt, claimed))
    mark_all(db, list(zip(claimed, outcomes, strict=False)), now, settings)
    return len(claimed)
