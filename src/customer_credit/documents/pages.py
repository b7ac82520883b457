"""Downloading documents from the console: an invoice's PDF from its page, an account's
statement PDF for a period of days (in the store's time zone) from the account page. Viewers
may download them too: they read what the pages already show."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from customer_credit.clock import now_of
from customer_credit.console.accounts_pages import account_url
from customer_credit.console.home import page_context
from customer_credit.console.session import Visit, signed_in
from customer_credit.console.web import SECURITY_HEADERS, error_message, redirect, render
from customer_credit.documents import service
from customer_credit.documents.routes import pdf_response
from customer_credit.errors import DomainError, NotFound
from customer_credit.i18n import gettext as _

console_router = APIRouter(prefix="/admin", include_in_schema=False)


def _not_found(request: Request, visit: Visit, active: str, error: NotFound):
    return render(
        request,
        "not_found.html",
        page_context(visit, active, _("Not found"), message=error.message),
        status_code=404,
    )


@console_router.get("/accounts/{account_id}/invoices/{invoice_id}/pdf")
def invoice_pdf(
    account_id: str, invoice_id: str, request: Request, visit: Annotated[Visit, Depends(signed_in)]
):
    try:
        with request.app.state.db.read() as session:
            download = service.invoice_download(
                session, visit.principal, account_id, invoice_id, now=now_of(request)
            )
    except NotFound as error:
        return _not_found(request, visit, "invoices", error)
    return pdf_response(download, SECURITY_HEADERS)


@console_router.get("/accounts/{account_id}/statement.pdf")
def statement_pdf(account_id: str, request: Request, visit: Annotated[Visit, Depends(signed_in)]):
    params = request.query_params
    try:
        since, until = service.local_window(
            visit.presentation.zone, str(params.get("from") or ""), str(params.get("to") or "")
        )
        with request.app.state.db.read() as session:
            download = service.statement_download(
                session, visit.principal, account_id, since=since, until=until, now=now_of(request)
            )
    except NotFound as error:
        return _not_found(request, visit, "accounts", error)
    except DomainError as error:
        return redirect(request, f"{account_url(account_id)}#statement-pdf", error_message(error))
    return pdf_response(download, SECURITY_HEADERS)
