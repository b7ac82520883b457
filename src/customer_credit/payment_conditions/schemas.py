"""Payment conditions on the wire."""

from decimal import Decimal

from pydantic import StrictBool, StrictStr

from customer_credit.api.types import Rate, WholeNumber, WireModel
from customer_credit.money import rate_for_wire, rate_from_units
from customer_credit.payment_conditions.models import PaymentCondition


class PaymentConditionIn(WireModel):
    """The whole condition (PUT replaces it). `name` may be left out; when sent it must be the
    path's. Without `everyDays`, installments past the list keep the list's last gap."""

    name: StrictStr | None = None
    dueDays: list[WholeNumber]
    everyDays: WholeNumber | None = None
    interestRatePerInstallment: Rate = Decimal(0)
    default: StrictBool = False


def condition_wire(condition: PaymentCondition) -> dict:
    return {
        "name": condition.name,
        "dueDays": list(condition.due_days),
        "everyDays": condition.every_days,
        "interestRatePerInstallment": rate_for_wire(rate_from_units(condition.interest_rate_units)),
        "default": condition.is_default,
    }
