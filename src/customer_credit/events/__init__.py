"""Events: every change writes one in its own transaction (the outbox); webhooks and
GET /events carry them out. Services call `events.record(session, events.TYPE, ...)`."""

from customer_credit.events.outbox import (
    note_ledger_entry,
    record,
    record_for_invoice,
    record_if_changed,
)
from customer_credit.events.types import *  # noqa: F403 - the event type constants
from customer_credit.events.types import EVENT_TYPES

__all__ = ["EVENT_TYPES", "note_ledger_entry", "record", "record_for_invoice", "record_if_changed"]
