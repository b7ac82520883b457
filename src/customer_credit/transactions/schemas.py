from pydantic import StrictBool, StrictStr

from customer_credit.api.types import PositiveAmount, WholeNumber, WireModel
from customer_credit.api.wire import timestamp
from customer_credit.money import from_cents
from customer_credit.transactions.models import Transaction


class HoldIn(WireModel):
    value: PositiveAmount
    settle: StrictBool
    installments: WholeNumber
    expirationDate: StrictStr | None = None
    orderId: StrictStr | None = None
    # Extension: the e-mail to open the account with when it does not exist yet and the store
    # has automaticCheckingAccountCreationEnabled on.
    email: StrictStr | None = None


class SettlementIn(WireModel):
    value: PositiveAmount
    # Extension: the store's payment condition by name (docs/payment-conditions.md).
    paymentCondition: StrictStr | None = None


class RefundIn(WireModel):
    value: PositiveAmount


def hold_wire(transaction: Transaction) -> dict:
    body = {
        "id": transaction.public_id,
        "value": from_cents(transaction.hold_cents or transaction.original_hold_cents),
        "installments": transaction.installments,
        "status": transaction.status,
    }
    if transaction.expires_at is not None:
        body["expirationDate"] = timestamp(transaction.expires_at)
    if transaction.order_id:
        body["orderId"] = transaction.order_id
    if transaction.payment_id:
        body["paymentId"] = transaction.payment_id
        body["reference"] = transaction.order_reference
    if transaction.overdue_flag_days is not None:
        # Extension: the store's overdue policy let this hold through, flagged (docs/credit-control.md).
        body["overdueFlag"] = {"daysOverdue": transaction.overdue_flag_days}
    return body
