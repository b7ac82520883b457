"""The periodic jobs. A job is a function (session, now) -> int (items handled); each run is
one write transaction, so a job claims its rows with locks and several workers can share them."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from customer_credit.transactions.service import expire_due_holds


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    run: Callable[[Session, datetime], int]
    every_s: float


def default_jobs(interval_s: float) -> list[PeriodicJob]:
    return [PeriodicJob("expire-holds", expire_due_holds, interval_s)]
