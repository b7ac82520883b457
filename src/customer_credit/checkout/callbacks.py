"""Telling VTEX an operator's decision: the payment's answer, POSTed to its callbackUrl with the
store's provider credentials (X-VTEX-API-AppKey/AppToken, generated in VTEX), retried with the
webhooks' backoff until a 2xx or the retry window ends.

A job with its own short transactions (jobs.registry.DatabaseJob): claim due callbacks with
SKIP LOCKED and a lease, POST them with no transaction open, record the outcomes."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from customer_credit.api.wire import dumps
from customer_credit.checkout import settings as checkout_settings
from customer_credit.checkout.models import (
    CALLBACK_DELIVERED,
    CALLBACK_FAILED,
    CALLBACK_PENDING,
    CheckoutPayment,
)
from customer_credit.checkout.service import payment_answer
from customer_credit.db.engine import Database
from customer_credit.events.destinations import allow_list
from customer_credit.events.dispatcher import backoff_s
from customer_credit.events.transport import Outcome, post

log = logging.getLogger("customer_credit.checkout")
BATCH = 20
# A moment read back from the database may have lost sub-millisecond digits on the way.
_SAME_MOMENT = timedelta(milliseconds=1)


@dataclass(frozen=True)
class _Due:
    payment_pk: int
    url: str
    headers: dict[str, str]
    body: bytes
    leased_until: datetime


def lease_for(settings, batch_size: int) -> timedelta:
    """How long a claim holds its callbacks: every POST of the batch may take the whole timeout,
    one after the other, so the lease covers them all (and a margin); a shorter one would let
    another worker claim, and POST again, callbacks still waiting their turn in this batch."""
    return timedelta(seconds=settings.webhook_timeout_s * (batch_size + 1) + 30)


def _claim(db: Database, now: datetime) -> list[_Due]:
    claimed: list[_Due] = []
    with db.write() as session:
        due = session.scalars(
            select(CheckoutPayment)
            .where(
                CheckoutPayment.callback_state == CALLBACK_PENDING,
                or_(CheckoutPayment.callback_next_at.is_(None), CheckoutPayment.callback_next_at <= now),
            )
            .order_by(CheckoutPayment.callback_next_at)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        leased_until = now + lease_for(db.settings, len(due))
        for payment in due:
            # The lease: another worker takes it only if this one died before recording.
            payment.callback_next_at = leased_until
            store_settings = checkout_settings.get_settings(session, payment.store_id)
            headers = {"Accept": "application/json"}
            if store_settings.callback_app_key and store_settings.callback_app_token:
                headers["X-VTEX-API-AppKey"] = store_settings.callback_app_key
                headers["X-VTEX-API-AppToken"] = store_settings.callback_app_token
            claimed.append(
                _Due(
                    payment.id,
                    payment.callback_url or "",
                    headers,
                    dumps(payment_answer(payment, session)),
                    leased_until,
                )
            )
    return claimed


def _record(db: Database, due: _Due, outcome: Outcome, now: datetime) -> None:
    settings = db.settings
    with db.write() as session:
        payment = session.get(CheckoutPayment, due.payment_pk, with_for_update=True)
        if payment is None or payment.callback_state != CALLBACK_PENDING:
            return
        if (
            payment.callback_next_at is not None
            and abs(payment.callback_next_at - due.leased_until) > _SAME_MOMENT
        ):
            # The lease ran out and another worker claimed this callback: its outcome is the one
            # to keep (it is recording or has recorded it), not this late one.
            return
        payment.callback_attempts += 1
        payment.callback_last_status = outcome.status_code
        payment.callback_last_error = outcome.error
        if outcome.ok:
            payment.callback_state = CALLBACK_DELIVERED
            payment.callback_next_at = None
            return
        retry_at = now + timedelta(seconds=backoff_s(settings, payment.callback_attempts))
        started = payment.decided_at or payment.created_at
        if retry_at - started > timedelta(seconds=settings.webhook_retry_window_s):
            payment.callback_state = CALLBACK_FAILED
            payment.callback_next_at = None
            log.warning("checkout callback given up", extra={"payment": payment.payment_id})
        else:
            payment.callback_next_at = retry_at


def deliver_callbacks(db: Database, now: datetime) -> int:
    """Returns the number of POSTs made."""
    claimed = _claim(db, now)
    allowed = allow_list(db.settings)
    for due in claimed:
        outcome = post(due.url, due.headers, due.body, db.settings.webhook_timeout_s, allowed)
        _record(db, due, outcome, now)
    return len(claimed)
