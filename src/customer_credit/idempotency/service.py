"""Idempotency-Key (domain.md, Retries), after Stripe: once a request with a key has started
executing, its outcome is final for the key, and every later request with it gets that outcome
again and changes nothing; the same key with another request is a 409.

A request starts executing when its route hands the work to `run_once`: by then its body has
been received whole and validated, and its caller authenticated, authorised and let through the
rate limiter, so those refusals (400 of validation, 401, 403, 413, 415, 429) are never stored.

1. Claim: a transaction of its own commits the record with a claim token, good for `LEASE`, so
   that another request with the key sees it at once and gets 409 `IdempotencyKeyInProgress`.
2. Execute: one transaction locks the record, checks that the claim is still ours, runs the
   work in a savepoint and writes the outcome: the work's 2xx, or a refusal a rule gave
   (`FINAL_REFUSALS`: 404, 409), the savepoint rolled back first. A change and its outcome
   commit together; a refusal is stored although its changes were rolled back.
3. Any other error (a 400 the work raised, a bug, a lost connection) applied nothing: the claim
   is deleted, so that a corrected or repeated request may run.

A process that dies mid-request leaves a claim without an outcome and without a change (2 is
one transaction). Once its lease lapses the next request with the key takes it over. Taking
over is safe even from a request that is still alive: its step 2 locks the record and checks
its token, so on PostgreSQL a take-over waits for a running step 2 and then replays it, and on
SQLite step 2 holds the database's write lock, which the take-over also needs.
"""

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from customer_credit.api.wire import dumps
from customer_credit.auth.principal import Principal
from customer_credit.db.base import utcnow
from customer_credit.db.engine import Database
from customer_credit.errors import Conflict, InvalidInput, NotFound
from customer_credit.idempotency.models import IdempotencyRecord

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 255
# How long a claim without an outcome answers "in progress"; past it, its request is taken for
# dead. It only has to cover the moment between the claim and the execution's lock: a request
# still executing holds the record's lock (the write lock on SQLite), so a copy arriving after
# the lease waits for it and replays its outcome. Short, so a key freed by a crash is soon usable.
LEASE = timedelta(seconds=3)
# Refusals a rule of the product gave to an executed request: as final as a 2xx.
FINAL_REFUSALS = (NotFound, Conflict)


@dataclass(frozen=True)
class Outcome:
    status: int
    body: bytes


@dataclass(frozen=True)
class _Claim:
    record_id: int
    token: str


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def in_progress() -> Conflict:
    return Conflict(
        "a request with this Idempotency-Key is still executing; retry it in a moment",
        code="IdempotencyKeyInProgress",
        retry_after_s=1,
    )


def _reused() -> Conflict:
    return Conflict(
        "this Idempotency-Key was already used with a different request",
        code="IdempotencyKeyReused",
    )


def run_once(
    db: Database,
    principal: Principal,
    *,
    key: str,
    fingerprint: str,
    work: Callable[..., tuple[int, bytes]],
    respond: Callable[[Outcome, bool], object],
    clock: Callable[[], datetime] = utcnow,
):
    """Runs `work(session)` once for this key and answers `respond(outcome, replayed)`."""
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters")
    claimed = _claim(db, principal, key, fingerprint, clock)
    if isinstance(claimed, Outcome):
        return respond(claimed, True)
    outcome, replayed = _execute(db, claimed, work)
    return respond(outcome, replayed)


def _find(
    session: Session, principal: Principal, key: str, *, for_update: bool = False
) -> IdempotencyRecord | None:
    query = select(IdempotencyRecord).where(
        IdempotencyRecord.store_id == principal.store_id,
        IdempotencyRecord.credential == principal.name,
        IdempotencyRecord.key == key,
    )
    return session.scalar(query.with_for_update() if for_update else query)


def _stored_outcome(record: IdempotencyRecord, request_fingerprint: str, now: datetime) -> Outcome | None:
    """The outcome this request replays; None if the key is free for it (its claim lapsed).
    Raises when the request may not run: another request's key, or one still executing."""
    if record.request_fingerprint != request_fingerprint:
        raise _reused()
    outcome = _recorded_outcome(record)
    if outcome is not None:
        return outcome
    if record.claimed_until is not None and record.claimed_until > now:
        raise in_progress()
    return None


def _recorded_outcome(record: IdempotencyRecord) -> Outcome | None:
    """The outcome the record holds; None while its request is executing (both columns are
    written together, in the request's own transaction)."""
    if record.status_code is None or record.response_body is None:
        return None
    return Outcome(record.status_code, bytes(record.response_body))


def _claim(db: Database, principal: Principal, key: str, request_fingerprint: str, clock) -> Outcome | _Claim:
    # A look without locks first. It answers replays and "in progress" without waiting: on
    # SQLite the executing request holds the write lock, on PostgreSQL the record's row lock.
    # Inside the session: its closing rollback expires the record.
    with db.read() as session:
        record = _find(session, principal, key)
        if record is not None:
            outcome = _stored_outcome(record, request_fingerprint, clock())
            if outcome is not None:
                return outcome
    token = uuid.uuid4().hex
    try:
        with db.write() as session:
            record = _find(session, principal, key, for_update=True)
            now = clock()
            if record is None:
                record = IdempotencyRecord(
                    store_id=principal.store_id,
                    credential=principal.name,
                    key=key,
                    request_fingerprint=request_fingerprint,
                    claim_token=token,
                    claimed_until=now + LEASE,
                )
                session.add(record)
                session.flush()
            else:
                outcome = _stored_outcome(record, request_fingerprint, now)
                if outcome is not None:
                    return outcome
                # The claim lapsed: the request that made it died, and nothing of it committed.
                record.claim_token = token
                record.claimed_until = now + LEASE
            return _Claim(record.id, token)
    except IntegrityError:
        # A request with the same key claimed it between our look and our insert.
        with db.read() as session:
            record = _find(session, principal, key)
            if record is None:
                raise
            outcome = _stored_outcome(record, request_fingerprint, clock())
            if outcome is not None:
                return outcome
        raise in_progress() from None


def _execute(db: Database, claim: _Claim, work) -> tuple[Outcome, bool]:
    """Runs the work and stores its outcome in one transaction; returns (outcome, replayed)."""
    try:
        with db.write() as session:
            record = session.get(IdempotencyRecord, claim.record_id, with_for_update=True)
            if record is None or record.claim_token != claim.token:
                # Our claim lapsed before we got here and another request took the key over.
                replay = None if record is None else _recorded_outcome(record)
                if replay is not None:
                    return replay, True
                raise in_progress()
            try:
                with session.begin_nested():
                    status, body = work(session)
                outcome = Outcome(status, body)
            except FINAL_REFUSALS as refusal:
                outcome = Outcome(refusal.status_code, dumps(refusal.body()))
            record.status_code = outcome.status
            record.response_body = outcome.body
            record.claim_token = None
            record.claimed_until = None
        return outcome, False
    except Exception:
        _release(db, claim)
        raise


def _release(db: Database, claim: _Claim) -> None:
    """Forgets a claim whose request applied nothing, so that its key may run again."""
    try:
        with db.write() as session:
            session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.id == claim.record_id,
                    IdempotencyRecord.claim_token == claim.token,
                    IdempotencyRecord.status_code.is_(None),
                )
            )
    except Exception:  # noqa: BLE001 - the original error is the one to report
        # The claim stays until its lease lapses; then the next request takes it over.
        log.warning("could not release Idempotency-Key claim %s", claim.record_id, exc_info=True)
