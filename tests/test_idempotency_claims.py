"""Idempotency-Key claims, at the service layer: a request arriving while another with its key
executes is refused as in progress and runs nothing; a claim left by a request that died lapses
after the lease; a claim taken over cannot run its work twice. Time is a given clock, never the
wall clock."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from customer_credit.errors import Conflict
from customer_credit.idempotency import service as idempotency
from customer_credit.idempotency.models import IdempotencyRecord

T0 = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)
FINGERPRINT = idempotency.fingerprint("POST", "/api/creditcontrol/accounts/a/transactions", b"{}")


class Crash(BaseException):
    """Stands for the process dying mid-request: no `except Exception` handler sees it."""


def at(moment: datetime):
    return lambda: moment


def answer(outcome: idempotency.Outcome, replayed: bool):
    return outcome.status, outcome.body, replayed


def run(database, principal, key, work, *, clock=at(T0), fingerprint=FINGERPRINT):
    return idempotency.run_once(
        database, principal, key=key, fingerprint=fingerprint, work=work, respond=answer, clock=clock
    )


def record(database, principal, key) -> IdempotencyRecord | None:
    with database.read() as session:
        found = (
            session.query(IdempotencyRecord)
            .filter_by(store_id=principal.store_id, credential=principal.name, key=key)
            .one_or_none()
        )
        if found is not None:
            session.expunge(found)
        return found


def assert_in_progress(call) -> None:
    with pytest.raises(Conflict) as refused:
        call()
    assert refused.value.code == "IdempotencyKeyInProgress"
    assert refused.value.retry_after_s == 1


@pytest.fixture
def principal(store):
    return store.principal()


def test_a_request_arriving_while_its_key_executes_is_in_progress(database, principal):
    key = f"k-{uuid.uuid4()}"
    copies_run = []

    def copy_work(_session):
        copies_run.append(True)
        return 200, b'{"copy":true}'

    def first_work(_session):
        # The copy arrives while this request is still executing (its claim is committed, its
        # change is not).
        assert_in_progress(lambda: run(database, principal, key, copy_work))
        return 200, b'{"first":true}'

    assert run(database, principal, key, first_work) == (200, b'{"first":true}', False)
    assert copies_run == []
    # Once the first has finished, the copy replays it.
    assert run(database, principal, key, copy_work) == (200, b'{"first":true}', True)
    assert copies_run == []


def test_in_progress_with_another_body_is_reused(database, principal):
    key = f"k-{uuid.uuid4()}"

    def first_work(_session):
        with pytest.raises(Conflict) as refused:
            run(database, principal, key, lambda _s: (200, b""), fingerprint="other")
        assert refused.value.code == "IdempotencyKeyReused"
        return 200, b"{}"

    run(database, principal, key, first_work)


def test_a_refusal_is_stored_although_its_changes_roll_back(database, principal):
    from customer_credit.stores.models import Store

    key = f"k-{uuid.uuid4()}"
    with database.read() as session:
        name = session.get(Store, principal.store_id).name

    def refused_work(session):
        session.get(Store, principal.store_id).name = f"renamed-{uuid.uuid4().hex[:8]}"
        session.flush()
        raise Conflict("no", code="SomeRule")

    status, body, replayed = run(database, principal, key, refused_work)
    assert (status, replayed) == (409, False)
    assert b'"SomeRule"' in body
    with database.read() as session:
        assert session.get(Store, principal.store_id).name == name
    assert run(database, principal, key, lambda _s: (200, b"{}")) == (409, body, True)


def test_a_claim_left_by_a_crash_lapses_after_the_lease(database, principal):
    key = f"k-{uuid.uuid4()}"

    def dies(_session):
        raise Crash

    with pytest.raises(Crash):
        run(database, principal, key, dies, clock=at(T0))
    left = record(database, principal, key)
    assert left is not None and left.status_code is None

    # Within the lease the key is taken for executing.
    still = T0 + idempotency.LEASE - timedelta(seconds=1)
    assert_in_progress(lambda: run(database, principal, key, lambda _s: (200, b"{}"), clock=at(still)))
    # Past it, the request that claimed it is taken for dead; it committed nothing, so a retry runs.
    later = T0 + idempotency.LEASE + timedelta(seconds=1)
    assert run(database, principal, key, lambda _s: (200, b'{"ran":1}'), clock=at(later)) == (
        200,
        b'{"ran":1}',
        False,
    )
    assert run(database, principal, key, lambda _s: (200, b"{}"), clock=at(later)) == (
        200,
        b'{"ran":1}',
        True,
    )


def test_an_error_that_is_no_outcome_frees_the_key(database, principal):
    key = f"k-{uuid.uuid4()}"

    def bug(_session):
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        run(database, principal, key, bug)
    assert record(database, principal, key) is None
    assert run(database, principal, key, lambda _s: (200, b'{"ran":1}')) == (200, b'{"ran":1}', False)


def test_a_claim_taken_over_does_not_run_its_work(database, principal):
    # A request claims the key, then stalls past its lease before executing; a retry takes the
    # key over and completes. When the stalled request resumes, it must not run its work.
    key = f"k-{uuid.uuid4()}"
    stalled = idempotency._claim(database, principal, key, FINGERPRINT, at(T0))
    later = T0 + idempotency.LEASE + timedelta(seconds=1)
    assert run(database, principal, key, lambda _s: (200, b'{"retry":1}'), clock=at(later)) == (
        200,
        b'{"retry":1}',
        False,
    )
    ran = []

    def stalled_work(_session):
        ran.append(True)
        return 200, b'{"stalled":1}'

    assert idempotency._execute(database, stalled, stalled_work) == (
        idempotency.Outcome(200, b'{"retry":1}'),
        True,
    )
    assert ran == []
