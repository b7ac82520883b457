"""Idempotency-Key: the same key with the same request replays the first response and changes
nothing; the same key with another request is a 409."""

import hashlib
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from customer_credit.auth.principal import Principal
from customer_credit.db.engine import Database
from customer_credit.errors import Conflict, InvalidInput
from customer_credit.idempotency.models import IdempotencyRecord

MAX_KEY_LENGTH = 255


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _find(session, principal: Principal, key: str) -> IdempotencyRecord | None:
    return session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.store_id == principal.store_id,
            IdempotencyRecord.credential == principal.name,
            IdempotencyRecord.key == key,
        )
    )


def _replay(record: IdempotencyRecord, request_fingerprint: str, respond):
    if record.request_fingerprint != request_fingerprint:
        raise Conflict(
            "this Idempotency-Key was already used with a different request",
            code="IdempotencyKeyReused",
        )
    return respond(record.status_code, record.response_body)


def run_once(
    db: Database,
    principal: Principal,
    *,
    key: str,
    fingerprint: str,
    work: Callable,
    respond: Callable,
):
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters")
    try:
        with db.write() as session:
            existing = _find(session, principal, key)
            if existing is not None:
                return _replay(existing, fingerprint, respond)
            # Claim the key before the work: a concurrent request with the same key waits on
            # the unique index until this transaction ends, then replays (commit) or runs
            # (rollback), instead of running the work a second time against changed figures.
            record = IdempotencyRecord(
                store_id=principal.store_id,
                credential=principal.name,
                key=key,
                request_fingerprint=fingerprint,
                status_code=0,
                response_body=b"",
            )
            session.add(record)
            session.flush()
            status, body = work(session)
            record.status_code = status
            record.response_body = body
            session.flush()
    except IntegrityError:
        # A concurrent request with the same key committed first; its change stands, ours was
        # rolled back with this transaction.
        # Replay inside the session: the read session's closing rollback expires the record.
        with db.read() as session:
            existing = _find(session, principal, key)
            if existing is None:
                raise
            return _replay(existing, fingerprint, respond)
    return respond(status, body)
