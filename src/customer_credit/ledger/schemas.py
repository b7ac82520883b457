from typing import TYPE_CHECKING

from customer_credit.api.types import SignedAmount, WireModel
from customer_credit.api.wire import timestamp
from customer_credit.money import from_cents

if TYPE_CHECKING:  # events.outbox imports statement_wire, and statements imports events
    from customer_credit.ledger.statements import LedgerEntry, StatementPage


class DecreaseBalanceIn(WireModel):
    value: SignedAmount


def statement_wire(entry: "LedgerEntry") -> dict:
    return {
        "value": from_cents(entry.value_cents),
        "date": timestamp(entry.created_at),
        "doneby": entry.done_by,
        "origin": entry.origin,
        "metadata": entry.meta or {},
    }


def statement_page_wire(page: "StatementPage", next_cursor: str | None) -> dict:
    """The contract's four fields, and our `count` (entries in the date window, on every page)
    and `nextCursor` (null when no entry of the window follows this page)."""
    return {
        "statements": [statement_wire(entry) for entry in page.entries],
        "currentBalance": from_cents(page.current_balance_cents),
        "intervalBalance": from_cents(page.interval_balance_cents),
        "previousBalance": from_cents(page.previous_balance_cents),
        "count": page.count,
        "nextCursor": next_cursor,
    }
