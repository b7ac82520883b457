from customer_credit.api.types import SignedAmount, WireModel
from customer_credit.api.wire import timestamp
from customer_credit.ledger.models import Statement
from customer_credit.money import from_cents


class DecreaseBalanceIn(WireModel):
    value: SignedAmount


def statement_wire(entry: Statement) -> dict:
    return {
        "value": from_cents(entry.value_cents),
        "date": timestamp(entry.created_at),
        "doneby": entry.done_by,
        "origin": entry.origin,
        "metadata": entry.meta or {},
    }
