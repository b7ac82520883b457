"""A token bucket per credential: in process memory (one node), or in Redis, shared by every
server process and host (several nodes; docs/scaling.md).

The shared bucket is taken by one Lua script, atomic in Redis, on Redis's own clock, so nodes
whose clocks disagree still refill one bucket at one rate. When Redis cannot be reached, the
limiter falls back to a bucket in this process and logs it: the limit then holds per node
instead of across nodes until Redis answers again, and a request is never refused (nor
answered 500) because a helper is down."""

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

from customer_credit.errors import RateLimited
from customer_credit.settings import Settings
from customer_credit.shared_state import SharedStore, open_shared_store

log = logging.getLogger("customer_credit.ratelimit")

# After Redis failed to answer, this process limits on its own for this long before asking it
# again, so that an outage costs one timeout now and then, not one per request.
RETRY_REDIS_AFTER_S = 2.0

# KEYS[1]: the credential's bucket; ARGV[1]: tokens per second; ARGV[2]: the burst.
# Returns {1, ''} when a token was taken, else {0, seconds until one is back}: as a string,
# since Redis would truncate a Lua number to an integer. The bucket's state is (tokens, at);
# a bucket untouched for as long as it takes to refill is full, so it may expire.
TAKE_TOKEN_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(stored[1]) or burst
local at = tonumber(stored[2]) or now
-- A clock that stepped back refills nothing (and keeps the later instant).
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate)
  at = now
end
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'at', string.format('%.6f', at))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
if taken == 1 then
  return {1, ''}
end
return {0, string.format('%.6f', (1 - tokens) / rate)}
"""


class Limiter(Protocol):
    def check(self, credential: str) -> None: ...

    def close(self) -> None: ...


class RateLimiter:
    """The bucket in this process's memory: each server process keeps its own."""

    def __init__(self, per_second: float, burst: int, clock: Callable[[], float] = time.monotonic):
        """`clock`: seconds from any origin that never go back (tests drive their own)."""
        self.per_second = per_second
        self.burst = max(1, burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.per_second > 0

    def check(self, credential: str) -> None:
        if not self.enabled:
            return
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(credential, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.per_second)
            if tokens < 1:
                self._buckets[credential] = (tokens, now)
                wait_s = math.ceil((1 - tokens) / self.per_second)
                raise RateLimited("too many requests for this credential", retry_after_s=wait_s)
            self._buckets[credential] = (tokens - 1, now)
            if len(self._buckets) > 100_000:
                self._buckets.clear()

    def close(self) -> None:
        pass


class SharedRateLimiter:
    """The bucket in Redis: every process and host that uses the same Redis and key prefix
    takes from the same bucket of a credential."""

    def __init__(
        self,
        per_second: float,
        burst: int,
        store: SharedStore,
        clock: Callable[[], float] = time.monotonic,
    ):
        """`clock` only times the fallback (when to ask Redis again); the bucket itself runs on
        Redis's clock."""
        import redis

        self.per_second = per_second
        self.burst = max(1, burst)
        self.store = store
        self.clock = clock
        self.fallback = RateLimiter(per_second, burst, clock)
        self._take_token = store.client.register_script(TAKE_TOKEN_LUA)
        self._unanswered: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self._local_until: float | None = None  # set while Redis is considered down
        self._state_lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.per_second > 0

    @property
    def shared(self) -> bool:
        """False while this process limits on its own because Redis did not answer."""
        return self._local_until is None

    def check(self, credential: str) -> None:
        if not self.enabled:
            return
        local_until = self._local_until
        if local_until is not None and self.clock() < local_until:
            self.fallback.check(credential)
            return
        try:
            taken, wait_s = self._take_token(
                keys=[self.store.key("ratelimit", credential)], args=[repr(self.per_second), self.burst]
            )
        except self._unanswered as error:
            self._redis_failed(error)
            self.fallback.check(credential)
            return
        if local_until is not None:
            self._redis_answered()
        if not int(taken):
            retry_after_s = max(1, math.ceil(float(wait_s)))
            raise RateLimited("too many requests for this credential", retry_after_s=retry_after_s)

    def _redis_failed(self, error: Exception) -> None:
        with self._state_lock:
            was_shared = self._local_until is None
            self._local_until = self.clock() + RETRY_REDIS_AFTER_S
        if was_shared:
            log.warning(
                "Redis did not answer the rate limiter (%s: %s); limiting in this process alone until it "
                "does",
                type(error).__name__,
                error,
            )

    def _redis_answered(self) -> None:
        with self._state_lock:
            was_local, self._local_until = self._local_until is not None, None
        if was_local:
            log.warning("Redis answers the rate limiter again; the limit is shared by every node again")

    def close(self) -> None:
        self.store.close()


def rate_limiter_for(settings: Settings) -> Limiter:
    """Shared through Redis when CUSTOMER_CREDIT_REDIS_URL is set and the limit is on; else
    in this process (one node)."""
    per_second, burst = settings.rate_limit_per_second, settings.rate_limit_burst
    if per_second > 0:
        store = open_shared_store(settings)
        if store is not None:
            return SharedRateLimiter(per_second, burst, store)
    return RateLimiter(per_second, burst)
