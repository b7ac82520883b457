"""The periodic jobs. A job is a function (session, now) -> int (items handled); each run is
one write transaction, so a job claims its rows with locks and several workers can share them.

A job that does I/O (e-mail, HTTP) is a `DatabaseJob`: it gets the Database instead of a
session and opens its own short transactions around the I/O (claim, send, record), so no
transaction or database lock is held while waiting on a network."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from customer_credit.checkout.callbacks import deliver_callbacks
from customer_credit.checkout.service import deny_expired_reviews
from customer_credit.credit_control.dunning import charge_late_fees
from customer_credit.csv_io.jobs import run_imports
from customer_credit.db.engine import Database
from customer_credit.events.dispatcher import deliver_due
from customer_credit.events.outbox import sequence_job
from customer_credit.events.overdue import emit_overdue
from customer_credit.events.webhooks import fanout
from customer_credit.reminders.sender import schedule_job, send_due
from customer_credit.transactions.service import expire_due_holds


@dataclass(frozen=True)
class SessionJob:
    """Runs inside one write transaction that the worker opens and commits."""

    name: str
    run: Callable[[Session, datetime], int]
    every_s: float


@dataclass(frozen=True)
class DatabaseJob:
    """Opens its own short transactions around its I/O."""

    name: str
    run: Callable[[Database, datetime], int]
    every_s: float


PeriodicJob = SessionJob | DatabaseJob


def default_jobs(interval_s: float) -> list[PeriodicJob]:
    # The order matters for `worker --once`: overdue events are written before the sequencer
    # numbers them, before the fan-out turns them into deliveries, before those are sent.
    return [
        SessionJob("expire-holds", expire_due_holds, interval_s),
        SessionJob("checkout-reviews-expire", deny_expired_reviews, interval_s),
        DatabaseJob("checkout-callbacks", deliver_callbacks, interval_s),
        SessionJob("invoices-overdue", emit_overdue, interval_s),
        # Before the reminders: a step's e-mail can then name the fee charged at that step.
        SessionJob("dunning-fees", charge_late_fees, interval_s),
        SessionJob("events-sequence", sequence_job, interval_s),
        SessionJob("webhooks-fanout", fanout, interval_s),
        DatabaseJob("webhooks-deliver", deliver_due, interval_s),
        DatabaseJob("reminders-schedule", schedule_job, interval_s),
        DatabaseJob("reminders-send", send_due, interval_s),
        # One chunk of one import per transaction; see customer_credit.csv_io.jobs.
        SessionJob("csv-imports", run_imports, interval_s),
    ]
