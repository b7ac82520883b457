"""A token bucket per credential, in process memory (each server worker keeps its own)."""

import math
import threading
import time
from collections.abc import Callable

from customer_credit.errors import RateLimited


class RateLimiter:
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
