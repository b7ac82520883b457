"""The expired-hold job: a hold past its expirationDate is released by the worker (preAuthorizedCredit
goes down, no ledger entry) and cannot be settled after that; two workers at once release each
hold exactly once."""

import threading
from datetime import datetime, timedelta

import pytest

from customer_credit.jobs.registry import default_jobs
from customer_credit.jobs.worker import Worker
from customer_credit.ledger.service import recompute_mismatches
from tests.contract import is_error_shape
from tests.helpers import account, dec, hold, open_account


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def at(moment: datetime):
    return lambda: moment


def hold_expiry_only(database, clock: datetime) -> Worker:
    """A worker running only the expire-holds job, so that its count is the holds alone."""
    jobs = [job for job in default_jobs(5.0) if job.name == "expire-holds"]
    assert len(jobs) == 1
    return Worker(database, clock=at(clock), jobs=jobs)


def test_the_worker_releases_an_expired_hold_and_settlement_is_refused(api, database, frozen_clock):
    now = frozen_clock()
    opened = open_account(api, credit_limit="100")
    expiring = hold(api, opened["id"], "30", expirationDate=stamp(now + timedelta(minutes=5)))
    assert expiring.status_code == 200, expiring.text
    later = hold(api, opened["id"], "20", expirationDate=stamp(now + timedelta(days=3)))
    forever = hold(api, opened["id"], "10")
    assert dec(account(api, opened["id"])["preAuthorizedCredit"]) == dec("60")

    # Before the expiration nothing is released.
    Worker(database, clock=at(now + timedelta(minutes=4))).run_once()
    assert dec(account(api, opened["id"])["preAuthorizedCredit"]) == dec("60")

    handled = Worker(database, clock=at(now + timedelta(minutes=6))).run_once()
    assert handled["expire-holds"] >= 1
    figures = account(api, opened["id"])
    assert dec(figures["preAuthorizedCredit"]) == dec("30")
    assert dec(figures["availableCredit"]) == dec("70")
    assert dec(figures["balance"]) == 0
    assert api.get(f"/accounts/{opened['id']}/statements").json()["statements"] == []

    expired_id = expiring.json()["id"]
    base = f"/accounts/{opened['id']}/transactions"
    refused = api.put(f"{base}/{expired_id}/settlement", json={"value": "30"})
    assert refused.status_code == 409, refused.text
    assert is_error_shape(refused)
    grown = api.put(f"{base}/{expired_id}", json={"value": "30", "settle": True, "installments": 1})
    assert grown.status_code == 409, grown.text
    assert api.get(f"/accounts/{opened['id']}/invoices").json()["summary"]["count"] == 0

    # Running again releases nothing more; the other holds are still live and settle.
    Worker(database, clock=at(now + timedelta(minutes=7))).run_once()
    assert dec(account(api, opened["id"])["preAuthorizedCredit"]) == dec("30")
    for live in (later, forever):
        settled = api.put(f"{base}/{live.json()['id']}/settlement", json={"value": live.json()["value"]})
        assert settled.status_code == 200, settled.text
    figures = account(api, opened["id"])
    assert (dec(figures["balance"]), dec(figures["preAuthorizedCredit"])) == (dec("-30"), 0)
    with database.read() as session:
        assert recompute_mismatches(session, api.store.id) == []


def test_an_expired_hold_is_not_counted_twice_by_a_cancel(api, database, frozen_clock):
    now = frozen_clock()
    opened = open_account(api, credit_limit="100")
    expiring = hold(api, opened["id"], "30", expirationDate=stamp(now + timedelta(minutes=5)))
    Worker(database, clock=at(now + timedelta(minutes=6))).run_once()
    # Cancelling a hold that already fell off changes nothing.
    cancelled = api.delete(f"/accounts/{opened['id']}/transactions/{expiring.json()['id']}")
    assert cancelled.status_code == 200, cancelled.text
    figures = account(api, opened["id"])
    assert dec(figures["preAuthorizedCredit"]) == 0
    assert dec(figures["availableCredit"]) == dec("100")


@pytest.mark.postgresql_only
def test_two_workers_at_once_release_each_hold_exactly_once(api, database, frozen_clock):
    if database.is_sqlite:
        pytest.skip("several workers at once are a PostgreSQL deployment")
    for _ in range(2):
        # The app's clock: the holds' expiration dates are checked against it.
        frozen_clock.set(frozen_clock() + timedelta(minutes=11))
        now = frozen_clock()
        deadline = now + timedelta(minutes=10)
        # Clear anything else due by then, so that the counts below are ours alone.
        hold_expiry_only(database, deadline).run_once()
        accounts = [open_account(api, credit_limit="100")["id"] for _ in range(6)]
        for index, account_id in enumerate(accounts):
            for minutes in (1, 2, 3):
                taken = hold(
                    api, account_id, "10", expirationDate=stamp(now + timedelta(minutes=minutes + index))
                )
                assert taken.status_code == 200, taken.text

        barrier = threading.Barrier(2)
        counts: list[int] = []

        def work():
            worker = hold_expiry_only(database, deadline)
            barrier.wait(timeout=10)
            counts.append(worker.run_once()["expire-holds"])

        threads = [threading.Thread(target=work) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in threads)
        assert len(counts) == 2
        assert sum(counts) == 18, counts
        for account_id in accounts:
            figures = account(api, account_id)
            assert dec(figures["preAuthorizedCredit"]) == 0
            assert dec(figures["availableCredit"]) == dec("100")
        with database.read() as session:
            assert recompute_mismatches(session, api.store.id) == []
