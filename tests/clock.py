"""A frozen clock for the request path: `frozen_clock` replaces the app's clock
(app.state.clock, see customer_credit.clock) for one test and puts the real one back after.
The worker's clock is injected the same way (tests.events.support.run_worker)."""

from collections.abc import Iterator
from datetime import datetime

import pytest


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
    real = app.state.clock
    clock = FrozenClock(real())
    app.state.clock = clock
    try:
        yield clock
    finally:
        app.state.clock = real
