"""State that every server process must see alike, in a Redis server they all reach.

Only the API rate limiter keeps its state here (api/ratelimit.py). Everything else that several
processes share is already in the database: sign-in counters (console/throttle.py), idempotency
claims, the ledger; revoked keys are found by each process's key cache within its 2 s
(auth/service.py). Why Redis for the limiter and not the database: docs/scaling.md.

Without CUSTOMER_CREDIT_REDIS_URL nothing here is used and `redis` is never imported: one node
(`make run`) needs no Redis."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from customer_credit.settings import Settings

if TYPE_CHECKING:
    import redis

# A Redis on the same network answers in well under a millisecond. Past this, a request stops
# waiting for it and the caller falls back to what one process can do alone; a longer wait would
# put the outage of an optional helper into every request's latency.
REDIS_TIMEOUT_S = 0.25


@dataclass(frozen=True)
class SharedStore:
    """A Redis client and the prefix of every key this deployment writes (several deployments,
    or test runs, may share one server)."""

    client: "redis.Redis"
    prefix: str

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def close(self) -> None:
        self.client.close()


def open_shared_store(settings: Settings) -> SharedStore | None:
    """The deployment's Redis, or None when none is configured. Connects lazily: a Redis that is
    down at start-up is no reason for the API not to start (see the callers' fallbacks)."""
    if not settings.redis_url:
        return None
    import redis

    client = redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=REDIS_TIMEOUT_S,
        socket_connect_timeout=REDIS_TIMEOUT_S,
        health_check_interval=30,
    )
    return SharedStore(client=client, prefix=settings.redis_key_prefix)
