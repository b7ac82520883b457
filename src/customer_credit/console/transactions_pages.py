"""Actions on a transaction row of the account page: release a hold (a pre-authorization not
settled yet) and refund a settled purchase, whole or in part. They call the same services as
the API's DELETE /transactions/{id} and POST /transactions/{id}/refunds; an account with a
hold left cannot be closed, and this is where the operator lets it go."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData

from customer_credit.clock import now_of
from customer_credit.console.accounts_pages import act_on_account, amount_field, form_text
from customer_credit.console.session import Visit, changing
from customer_credit.i18n import gettext as _
from customer_credit.transactions import service as transactions

router = APIRouter(prefix="/admin", include_in_schema=False)
Posted = Annotated[tuple[Visit, FormData], Depends(changing)]


@router.post("/accounts/{public_id}/transactions/{transaction_id}/release")
def release_hold(public_id: str, transaction_id: str, request: Request, posted: Posted):
    visit, _form = posted
    return act_on_account(
        request,
        visit,
        public_id,
        f"transaction-{transaction_id}",
        {},
        lambda session: transactions.cancel_hold(
            session, visit.principal, public_id, transaction_id, now=now_of(request)
        ),
        _("The hold was released."),
    )


@router.post("/accounts/{public_id}/transactions/{transaction_id}/refund")
def refund(public_id: str, transaction_id: str, request: Request, posted: Posted):
    visit, form = posted
    values = {"value": form_text(form, "value", 40)}
    return act_on_account(
        request,
        visit,
        public_id,
        f"transaction-{transaction_id}",
        values,
        lambda session: transactions.refund(
            session,
            visit.principal,
            public_id,
            transaction_id,
            value=amount_field(form, "value", locale=visit.presentation.locale),
            now=now_of(request),
        ),
        _("Refund recorded."),
    )
