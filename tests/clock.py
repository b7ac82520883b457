"""A frozen clock for the request path. The suite's app starts on one, at FIXED_START
(tests/conftest.py), so no test sees the wall clock; `frozen_clock` gives a test its own
(app.state.clock, see customer_credit.clock), also at FIXED_START until `set()`, and puts the
previous one back after. The worker's clock is injected the same way
(tests.events.support.run_worker)."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

# Where a frozen clock starts when a test does not `set()` it: a fixed afternoon, so no test
# sees a different day, hour or month depending on when the suite runs.
FIXED_START = datetime(2026, 6, 15, 15, 0, tzinfo=UTC)


class FrozenClock:
    """Always says `moment`; `set()` moves it."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("a frozen clock needs an aware datetime")
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def frozen_clock(app) -> Iterator[FrozenClock]:
    previous = app.state.clock
    clock = FrozenClock(FIXED_START)
    app.state.clock = clock
    try:
        yield clock
    finally:
        app.state.clock = previous
