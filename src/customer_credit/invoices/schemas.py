from typing import Literal

from pydantic import StrictStr

from customer_credit.api.types import PositiveAmount, WholeNumber, WireModel
from customer_credit.api.wire import timestamp
from customer_credit.invoices.models import Invoice
from customer_credit.invoices.overdue_days import Lateness
from customer_credit.money import from_cents

InvoiceStatus = Literal["Opened", "Paid", "Cancelled"]


class ChangeInvoiceIn(WireModel):
    status: InvoiceStatus
    observation: StrictStr | None = None
    paymentLink: StrictStr | None = None


class PaymentIn(WireModel):
    value: PositiveAmount | None = None


class PostponeIn(WireModel):
    dueDays: WholeNumber


def invoice_wire(invoice: Invoice, account_public_id: str, lateness: Lateness) -> dict:
    """`lateness`: the store's, at the request's `now` (daysOverdue and interest are extensions)."""
    late = lateness.of(invoice)
    return {
        "id": invoice.public_id,
        "friendlyId": invoice.friendly_id,
        "status": invoice.status,
        "value": from_cents(invoice.value_cents),
        "accountId": account_public_id,
        "creditValue": from_cents(invoice.paid_cents),
        "createdAt": timestamp(invoice.created_at),
        "resolvedAt": timestamp(invoice.resolved_at),
        "updatedAt": timestamp(invoice.updated_at),
        "paymentLink": invoice.payment_link,
        "originalDueDate": timestamp(invoice.original_due_at),
        "dueDate": timestamp(invoice.due_at),
        "installment": invoice.installment,
        "orderId": invoice.order_id,
        "observation": invoice.observation,
        "transactionId": invoice.public_id.rsplit("-", 1)[0],
        "numberOfInstallments": invoice.number_of_installments,
        "creditAccountId": account_public_id,
        "postponements": invoice.postponement_count,
        "daysOverdue": late.days,
        "interest": from_cents(late.interest_cents),
    }
