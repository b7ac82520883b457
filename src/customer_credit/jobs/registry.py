"""The periodic jobs. A job is a function (session, now) -> int (items handled); each run is
one write transaction, so a job claims its rows with locks and several workers can share them.

A job that does I/O (e-mail, HTTP) is marked `own_transactions`: it gets the Database instead
of a session and opens its own short transactions around the I/O (claim, send, record), so
no transaction or database lock is held while waiting on a network."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

# The worker's clock lives with the request clock; imported here for `worker --now` and the app.
from customer_credit.clock import shifted_clock  # noqa: F401
from customer_credit.events.dispatcher import deliver_due
from customer_credit.events.outbox import sequence_job
from customer_credit.events.overdue import emit_overdue
from customer_credit.events.webhooks import fanout
from customer_credit.reminders.sender import schedule_job, send_due
from customer_credit.transactions.service import expire_due_holds


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    run: Callable[[Session, datetime], int]
    every_s: float
    own_transactions: bool = False


def default_jobs(interval_s: float) -> list[PeriodicJob]:
    # The order matters for `worker --once`: overdue events are written before the sequencer
    # numbers them, before the fan-out turns them into deliveries, before those are sent.
    return [
        PeriodicJob("expire-holds", expire_due_holds, interval_s),
        PeriodicJob("invoices-overdue", emit_overdue, interval_s),
        PeriodicJob("events-sequence", sequence_job, interval_s),
        PeriodicJob("webhooks-fanout", fanout, interval_s),
        PeriodicJob("webhooks-deliver", deliver_due, interval_s, own_transactions=True),
        PeriodicJob("reminders-schedule", schedule_job, interval_s, own_transactions=True),
        PeriodicJob("reminders-send", send_due, interval_s, own_transactions=True),
    ]
