"""Where "now" comes from.

The rules that depend on today (days overdue and late interest, "Expired", reminders) never
read the wall clock themselves: they take `now` from their caller. The worker gets it from its
`clock` (`shifted_clock` below, for `worker --now` / CUSTOMER_CREDIT_CLOCK_OFFSET_DAYS; the
command refuses the offset on real data, see cli/moved_clock.py); a request gets it from the
app's clock, `app.state.clock` (real UTC time, set by create_app), which tests replace with a
frozen one."""

from collections.abc import Callable
from datetime import datetime, timedelta

from starlette.requests import Request

from customer_credit.db.base import utcnow

Clock = Callable[[], datetime]


def now_of(request: Request) -> datetime:
    """The current moment as this request's app sees it (aware, UTC)."""
    return request.app.state.clock()


def shifted_clock(*, offset_days: float = 0, start_at: datetime | None = None) -> Clock:
    """Real time moved `offset_days` ahead, or running on from `start_at`."""
    offset = timedelta(days=offset_days)
    if start_at is not None:
        offset = start_at - utcnow()

    def clock() -> datetime:
        return utcnow() + offset

    return clock
