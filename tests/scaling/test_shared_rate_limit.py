"""The rate limiter shared through Redis: limiters of different processes (here: different
clients and apps) that use the same Redis and key prefix take from one bucket per credential;
without a Redis URL each process limits alone, as before; a Redis that does not answer never
turns into a 500, the process limits alone and says so in the log, once, and shares again when
Redis is back."""

import logging
import socket

import pytest
import redis
from starlette.testclient import TestClient

from customer_credit.api import ratelimit
from customer_credit.api.ratelimit import RateLimiter, SharedRateLimiter, rate_limiter_for
from customer_credit.app import create_app
from customer_credit.errors import RateLimited
from customer_credit.settings import Settings
from customer_credit.shared_state import SharedStore, open_shared_store
from tests.conftest import Api, make_settings

# One token back every 100 s: nothing refills while a test runs, however slow the machine.
SLOW_RATE = 0.01
BURST = 4


class Seconds:
    """The fallback's clock (when to ask Redis again), standing still unless a test moves it."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def store_of(url: str, prefix: str) -> SharedStore:
    store = open_shared_store(Settings(redis_url=url, redis_key_prefix=prefix))
    assert store is not None
    return store


def closed_port_url() -> str:
    """A Redis URL where nothing listens (connection refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def two_processes(redis_url, redis_prefix):
    """Two limiters with a client each, as two server processes would have."""
    limiters = [
        SharedRateLimiter(SLOW_RATE, BURST, store_of(redis_url, redis_prefix), clock=Seconds())
        for _ in range(2)
    ]
    yield limiters
    for limiter in limiters:
        limiter.close()


def test_limiters_of_two_processes_take_from_one_bucket(two_processes):
    first, second = two_processes
    for turn in range(BURST):
        (first if turn % 2 == 0 else second).check("7:vtexappkey-shop-ABC")
    for limiter in (first, second):
        with pytest.raises(RateLimited) as refused:
            limiter.check("7:vtexappkey-shop-ABC")
        # The next token is 1 / SLOW_RATE seconds away, said in whole seconds.
        assert 1 <= refused.value.retry_after_s <= 1 / SLOW_RATE
    assert first.shared and second.shared


def test_each_credential_has_a_bucket_of_its_own(two_processes):
    first, second = two_processes
    for _ in range(BURST):
        first.check("7:key-a")
    with pytest.raises(RateLimited):
        second.check("7:key-a")
    for _ in range(BURST):
        second.check("7:key-b")  # another key of the store
        first.check("8:key-a")  # the same name in another store


def test_the_shared_bucket_refills_at_the_rate_up_to_the_burst(two_processes, redis_url, redis_prefix):
    """Time is moved in Redis (the bucket's last instant set back), not waited for."""
    first, second = two_processes
    credential = "7:refilled"
    for _ in range(BURST):
        first.check(credential)
    client = redis.Redis.from_url(redis_url)
    key = f"{redis_prefix}ratelimit:{credential}"
    at = float(client.hget(key, "at"))
    client.hset(key, "at", f"{at - 2.5 / SLOW_RATE:.6f}")  # 2.5 tokens' worth ago
    second.check(credential)
    first.check(credential)
    with pytest.raises(RateLimited):
        second.check(credential)
    client.hset(key, "at", f"{float(client.hget(key, 'at')) - 1000 / SLOW_RATE:.6f}")  # long ago
    for _ in range(BURST):
        first.check(credential)  # a full bucket, never more than the burst
    with pytest.raises(RateLimited):
        first.check(credential)
    assert 0 < client.pttl(key) <= (BURST / SLOW_RATE + 1) * 1000  # a full bucket is forgotten
    client.close()


def test_an_unreachable_redis_limits_in_this_process_and_never_fails_the_request(caplog):
    limiter = SharedRateLimiter(SLOW_RATE, BURST, store_of(closed_port_url(), "cc-unreachable:"), Seconds())
    with caplog.at_level(logging.WARNING, logger="customer_credit.ratelimit"):
        for _ in range(BURST):
            limiter.check("7:key")
        with pytest.raises(RateLimited):
            limiter.check("7:key")  # the local bucket still limits
    assert not limiter.shared
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1 and "limiting in this process alone" in warnings[0]
    limiter.close()


def test_the_limit_is_shared_again_once_redis_answers(two_processes, monkeypatch, caplog):
    first, _second = two_processes
    clock = first.clock
    real_take = first._take_token

    def unreachable(**_kwargs):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(first, "_take_token", unreachable)
    with caplog.at_level(logging.WARNING, logger="customer_credit.ratelimit"):
        first.check("7:key")
        assert not first.shared
        monkeypatch.setattr(first, "_take_token", real_take)
        clock.now += ratelimit.RETRY_REDIS_AFTER_S - 0.1
        first.check("7:key")  # not asked again yet: still the local bucket
        assert not first.shared
        clock.now += 0.2
        first.check("7:key")
    assert first.shared
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2 and "again" in messages[1]


def test_without_a_redis_url_each_process_limits_alone(tmp_path):
    assert type(rate_limiter_for(Settings(rate_limit_per_second=5))) is RateLimiter
    # No limit, no Redis connection, even with a URL.
    assert (
        type(rate_limiter_for(Settings(rate_limit_per_second=0, redis_url=closed_port_url()))) is RateLimiter
    )
    shared = rate_limiter_for(Settings(rate_limit_per_second=5, redis_url=closed_port_url()))
    assert type(shared) is SharedRateLimiter
    shared.close()


def _app_client(database_url, database, tmp_path, **overrides) -> TestClient:
    settings = make_settings(
        database_url, tmp_path, rate_limit_per_second=SLOW_RATE, rate_limit_burst=BURST, **overrides
    )
    return TestClient(create_app(settings, database), raise_server_exceptions=False)


def test_two_apps_on_one_redis_answer_429_once_the_shared_budget_is_spent(
    database_url, database, store, tmp_path, redis_url, redis_prefix
):
    headers = store.api().headers
    options = {"redis_url": redis_url, "redis_key_prefix": redis_prefix}
    with (
        _app_client(database_url, database, tmp_path, **options) as first,
        _app_client(database_url, database, tmp_path, **options) as second,
    ):
        nodes = [Api(first, headers, store), Api(second, headers, store)]
        for turn in range(BURST):
            assert nodes[turn % 2].get("/storeconfig").status_code == 200
        for node in nodes:
            refused = node.get("/storeconfig")
            assert refused.status_code == 429, refused.text
            assert refused.json()["error"]["code"] == "RateLimited"
            assert int(refused.headers["Retry-After"]) >= 1


def test_the_api_answers_while_redis_is_down(database_url, database, store, tmp_path):
    headers = store.api().headers
    with _app_client(database_url, database, tmp_path, redis_url=closed_port_url()) as client:
        api = Api(client, headers, store)
        assert [api.get("/storeconfig").status_code for _ in range(BURST)] == [200] * BURST
        assert api.get("/storeconfig").status_code == 429  # this process's own bucket
