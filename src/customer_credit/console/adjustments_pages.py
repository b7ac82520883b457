"""The invoice page's credit-control actions: a credit note or a write-off, and paying the invoice
from the account's unapplied balance (the same services as the API, docs/credit-control.md)."""

from fastapi import APIRouter, Request

from customer_credit.clock import now_of
from customer_credit.console.accounts_pages import amount_field, form_text
from customer_credit.console.invoices_pages import Posted, act_on_invoice
from customer_credit.credit_control import adjustments, balance
from customer_credit.credit_control.models import CREDIT_NOTE, WRITE_OFF
from customer_credit.errors import InvalidInput, field_error
from customer_credit.i18n import gettext as _

router = APIRouter(prefix="/admin", include_in_schema=False)
INVOICE = "/accounts/{account_id}/invoices/{invoice_id}"
KINDS = {"creditNote": CREDIT_NOTE, "writeOff": WRITE_OFF}


def _as_field(error: InvalidInput, field: str) -> InvalidInput:
    """The service names the amount `value`, which on this page is the payment form's field."""
    for detail in error.details:
        if detail.get("field") == "value":
            return field_error(field, detail["message"])
    return error


@router.post(INVOICE + "/adjust")
def adjust(account_id: str, invoice_id: str, request: Request, posted: Posted):
    visit, form = posted
    values = {
        "kind": form_text(form, "kind", 20),
        "adjustValue": form_text(form, "adjustValue", 40),
        "reason": form_text(form, "reason", 600),
        "reference": form_text(form, "reference", 300),
    }
    now = now_of(request)

    def work(session):
        kind = KINDS.get(values["kind"])
        if kind is None:
            raise field_error("kind", "choose a credit note or a write-off")
        try:
            document, _new = adjustments.issue(
                session,
                visit.principal,
                account_id,
                invoice_id,
                kind=kind,
                value=amount_field(form, "adjustValue", locale=visit.presentation.locale),
                reason=values["reason"],
                reference=values["reference"] or None,
                now=now,
            )
        except InvalidInput as error:
            raise _as_field(error, "adjustValue") from None
        done.append(
            _("%(document)s %(number)s issued.")
            % {"document": adjustments.KINDS[kind].label.capitalize(), "number": document.number}
        )

    done: list[str] = []
    return act_on_invoice(request, visit, account_id, invoice_id, values, work, lambda: done[0])


@router.post(INVOICE + "/apply-balance")
def apply_balance(account_id: str, invoice_id: str, request: Request, posted: Posted):
    visit, form = posted
    values = {"applyValue": form_text(form, "applyValue", 40)}
    now = now_of(request)

    def work(session):
        try:
            balance.apply_balance(
                session,
                visit.principal,
                account_id,
                invoice_id,
                value=amount_field(form, "applyValue", locale=visit.presentation.locale),
                now=now,
            )
        except InvalidInput as error:
            raise _as_field(error, "applyValue") from None

    return act_on_invoice(
        request, visit, account_id, invoice_id, values, work, lambda: _("Paid from the account's balance.")
    )
