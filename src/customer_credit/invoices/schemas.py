from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Query
from pydantic import StrictStr

from customer_credit.api.types import PositiveAmount, WholeNumber, WireModel
from customer_credit.api.wire import timestamp
from customer_credit.invoices import search
from customer_credit.invoices.ids import transaction_public_id_of
from customer_credit.invoices.models import Invoice
from customer_credit.invoices.overdue_days import Lateness
from customer_credit.invoices.queries import InvoiceFilters
from customer_credit.money import from_cents
from customer_credit.paging import Window, window

InvoiceStatus = Literal["Opened", "Paid", "Cancelled"]


@dataclass
class InvoiceQuery:
    """The query string of an account's invoice search (`Annotated[InvoiceQuery, Depends()]`:
    each field is one query parameter, named as the contract names it)."""

    from_: Annotated[str | None, Query(alias="from")] = None
    to: str | None = None
    createdDateFrom: str | None = None
    createdDateTo: str | None = None
    # A misspelling some integrations send for createdDateTo: read, not documented.
    createDateTo: Annotated[str | None, Query(include_in_schema=False)] = None
    dueDateFrom: str | None = None
    dueDateTo: str | None = None
    value: str | None = None
    status: str | None = None
    friendlyId: str | None = None
    observation: str | None = None
    op: str | None = None

    def account_filter(self) -> str | None:
        return None  # the account is the path's

    def filters(self) -> InvoiceFilters:
        return search.parse_filters(
            self.createdDateFrom,
            self.createdDateTo or self.createDateTo,
            self.dueDateFrom,
            self.dueDateTo,
            self.value,
            self.status,
            self.friendlyId,
            self.observation,
            self.account_filter(),
            self.op,
        )

    def window(self) -> Window:
        return window(self.from_, self.to)


@dataclass
class StoreInvoiceQuery(InvoiceQuery):
    """The store-wide search takes the same parameters and a creditAccountId filter."""

    creditAccountId: str | None = None

    def account_filter(self) -> str | None:
        return self.creditAccountId


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
        "transactionId": transaction_public_id_of(invoice.public_id),
        "numberOfInstallments": invoice.number_of_installments,
        "creditAccountId": account_public_id,
        "postponements": invoice.postponement_count,
        # Extensions: what credit notes and write-offs took off `value`, and the part of
        # creditValue paid from the account's unapplied balance (docs/credit-control.md).
        "creditedValue": from_cents(invoice.credited_cents or 0),
        "writtenOffValue": from_cents(invoice.written_off_cents or 0),
        "balanceAppliedValue": from_cents(invoice.balance_applied_cents or 0),
        "daysOverdue": late.days,
        "interest": from_cents(late.interest_cents),
        # Extensions, for a purchase taken through the checkout connector.
        "paymentId": invoice.payment_id,
        "reference": invoice.order_reference,
    }
