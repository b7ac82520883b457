"""Overdue invoices and days overdue: the one definition, used by late interest, the API, the
console, the CSV export, My Credits, webhooks, e-mails and reminders.

Days overdue are calendar days in the store's time zone from the due date to today: due on
Dec 1 and seen on Dec 3 is 2 days overdue, whatever the hour of either. An invoice whose due
moment has passed earlier today is overdue ("Expired" in the console) by 0 days, and owes no
interest yet. `now` always comes from the caller's clock (see customer_credit.clock), never
from the wall clock here, so the same moment gives the same number everywhere."""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_

from customer_credit.dates import store_zone
from customer_credit.invoices.models import OPENED, Invoice
from customer_credit.money import cents_times_rate


def is_overdue(invoice: Invoice, now: datetime) -> bool:
    """An Opened invoice whose due moment has passed ("Expired" in the console). The store's
    time zone does not move a moment, so it matters only for counting the days."""
    return invoice.status == OPENED and invoice.due_at < now


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    """`is_overdue` as one SQL condition (so that within `op=or` it stays "Opened and past due")."""
    return and_(Invoice.status == OPENED, Invoice.due_at < now)


def _calendar_days(start: datetime, end: datetime, zone: ZoneInfo) -> int:
    """From start's day to end's day as a calendar on the wall in `zone` shows them."""
    return (end.astimezone(zone).date() - start.astimezone(zone).date()).days


def days_overdue(due_at: datetime, now: datetime, zone: ZoneInfo) -> int:
    """Calendar days from the due date to today in `zone`; 0 until the day after the due date."""
    return max(0, _calendar_days(due_at, now, zone))


def days_until_due(due_at: datetime, now: datetime, zone: ZoneInfo) -> int:
    """Calendar days from today to the due date in `zone`; 0 on the due date and after."""
    return max(0, _calendar_days(now, due_at, zone))


@dataclass(frozen=True)
class Overdue:
    days: int
    interest_cents: int


@dataclass(frozen=True)
class Lateness:
    """How a store counts lateness at one moment: its time zone, its daily interest rate (in
    ten-thousandths) and `now`."""

    zone: ZoneInfo
    daily_interest_units: int
    now: datetime

    @classmethod
    def of_store(cls, config, now: datetime) -> "Lateness":
        """From a StoreConfig (its `timezone` and `daily_interest_rate_units`)."""
        return cls(store_zone(config), config.daily_interest_rate_units, now)

    def of(self, invoice: Invoice) -> Overdue:
        """Days overdue of an Opened invoice and the simple interest on what is still owed
        (a paid or cancelled invoice is never overdue)."""
        if invoice.status != OPENED:
            return Overdue(0, 0)
        days = days_overdue(invoice.due_at, self.now, self.zone)
        owed = invoice.value_cents - invoice.paid_cents
        return Overdue(days, cents_times_rate(owed * days, self.daily_interest_units))
