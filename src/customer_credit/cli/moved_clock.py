"""CUSTOMER_CREDIT_CLOCK_OFFSET_DAYS moves the worker's clock for real: the holds it expires
stay expired and the overdue events and reminders it writes stay written when real time is
back. So a worker (or a server running the worker in-process) starts on a moved clock only
after a loud warning, and only on a database that looks like demo data or when the operator
confirms it (docs/decisions.md); `reminders preview --at` is the way to look ahead."""

import logging
from dataclasses import dataclass
from datetime import timedelta

import typer

from customer_credit.cli.errors import fail
from customer_credit.settings import Settings

CONFIRM_FLAG = "--i-know-this-moves-real-holds"
CONFIRM_ENV = "CUSTOMER_CREDIT_CLOCK_OFFSET_CONFIRMED"
CONFIRM_HELP = (
    "Start even though CUSTOMER_CREDIT_CLOCK_OFFSET_DAYS will expire real holds and make real "
    f"invoices overdue (or set {CONFIRM_ENV}=true)."
)

log = logging.getLogger("customer_credit.jobs")


@dataclass(frozen=True)
class AtStake:
    """What a moved clock would change for good outside the demo stores."""

    live_holds: int
    opened_invoices: int

    @property
    def nothing(self) -> bool:
        return not (self.live_holds or self.opened_invoices)


def guard_moved_clock(settings: Settings, *, confirmed: bool) -> None:
    """Warns when the clock offset is set, and stops the command (exit 2) when it would move
    data that is not demo data and nobody confirmed it."""
    offset = settings.clock_offset_days
    if not offset:
        return
    from customer_credit.db.base import utcnow

    moved_to = utcnow() + timedelta(days=offset)
    warning = (
        f"WARNING: CUSTOMER_CREDIT_CLOCK_OFFSET_DAYS={offset:g}: the worker lives at "
        f"{moved_to:%Y-%m-%d %H:%M} UTC; the holds it expires, the invoices it makes overdue and "
        "the reminders it sends stay so when real time is back"
    )
    typer.secho(warning, fg=typer.colors.RED, bold=True, err=True)
    log.warning(warning)
    if confirmed or settings.clock_offset_confirmed:
        return
    at_stake = _at_stake()
    if at_stake.nothing:
        return
    fail(
        f"refusing to start on a moved clock: {at_stake.live_holds} live holds and "
        f"{at_stake.opened_invoices} open invoices are not demo data; look ahead with "
        f"`customer-credit reminders preview --at {moved_to:%Y-%m-%dT%H:%M}` instead, "
        f"or confirm with {CONFIRM_FLAG} or {CONFIRM_ENV}=true"
    )


def _at_stake() -> AtStake:
    """Live holds and Opened invoices outside the stores whose every ledger entry was written
    by the demo loader (`customer-credit demo`)."""
    from sqlalchemy import case, func, select

    from customer_credit.cli.database import open_database
    from customer_credit.demo.service import DONE_BY
    from customer_credit.invoices.models import OPENED, Invoice
    from customer_credit.ledger.models import Statement
    from customer_credit.transactions.models import AUTHORIZED, Transaction

    demo_stores = (
        select(Statement.store_id)
        .group_by(Statement.store_id)
        .having(func.sum(case((Statement.done_by == DONE_BY, 0), else_=1)) == 0)
    )
    database = open_database()
    try:
        with database.read() as session:
            holds = session.scalar(
                select(func.count())
                .select_from(Transaction)
                .where(Transaction.status == AUTHORIZED, Transaction.store_id.not_in(demo_stores))
            )
            invoices = session.scalar(
                select(func.count())
                .select_from(Invoice)
                .where(Invoice.status == OPENED, Invoice.store_id.not_in(demo_stores))
            )
    finally:
        database.dispose()
    return AtStake(live_holds=holds or 0, opened_invoices=invoices or 0)
