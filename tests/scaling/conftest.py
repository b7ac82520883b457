"""The Redis server that several nodes share (the one this machine runs, 127.0.0.1:6379, or
CUSTOMER_CREDIT_TEST_REDIS_URL), with a key prefix of each test's own so that parallel runs
never meet; its keys are deleted afterwards. In CI (CI=true) a missing Redis fails the tests
that need it instead of skipping them, as PostgreSQL does."""

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import IN_CI

TEST_REDIS_URL = os.environ.get("CUSTOMER_CREDIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        if IN_CI:
            pytest.fail(f"Redis is required in CI and is not reachable at {TEST_REDIS_URL}: {error}")
        pytest.skip(f"Redis not reachable at {TEST_REDIS_URL}: {error}")
    finally:
        client.close()
    return TEST_REDIS_URL


def delete_keys(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def redis_prefix(redis_url) -> Iterator[str]:
    prefix = f"cc-test-{uuid.uuid4().hex}:"
    yield prefix
    delete_keys(redis_url, prefix)
