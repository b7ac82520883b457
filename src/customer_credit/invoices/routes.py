"""HTTP for invoices: search (store-wide and per account), retrieve, change, cancel, pay,
postpone."""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from customer_credit.api.context import RequestContext, authorized
from customer_credit.api.wire import DecimalRoute
from customer_credit.auth import resources
from customer_credit.clock import now_of
from customer_credit.errors import field_error
from customer_credit.invoices import payments, search, service
from customer_credit.invoices.overdue_days import Lateness
from customer_credit.invoices.schemas import (
    ChangeInvoiceIn,
    InvoiceQuery,
    PaymentIn,
    PostponeIn,
    StoreInvoiceQuery,
    invoice_wire,
)
from customer_credit.money import from_cents
from customer_credit.stores import service as stores

router = APIRouter(prefix="/api/creditcontrol", tags=["Invoices"], route_class=DecimalRoute)


def _search_response(ctx: RequestContext, query: InvoiceQuery, account_public_id: str | None = None):
    filters, page_window = query.filters(), query.window()

    def work(session):
        lateness = Lateness.of_store(stores.get_config(session, ctx.principal.store_id), now_of(ctx.request))
        page = search.search_invoices(
            session, ctx.principal, filters, page_window, account_public_id=account_public_id
        )
        return {
            "data": [invoice_wire(invoice, owner, lateness) for invoice, owner in page.rows],
            "summary": {
                "count": page.summary["count"],
                "total": from_cents(page.summary["total"]),
                "totalPaid": from_cents(page.summary["totalPaid"]),
                "totalCancelled": from_cents(page.summary["totalCancelled"]),
            },
        }

    return ctx.read(work, replica=True)


@router.get("/invoices", summary="Search all invoices")
def search_all_invoices(
    ctx: Annotated[RequestContext, Depends(authorized(resources.READ_INVOICES))],
    query: Annotated[StoreInvoiceQuery, Depends()],
):
    return _search_response(ctx, query)


@router.get("/accounts/{creditAccountId}/invoices", summary="Search the invoices of an account")
def search_account_invoices(
    creditAccountId: str,
    ctx: Annotated[RequestContext, Depends(authorized(resources.READ_INVOICES))],
    query: Annotated[InvoiceQuery, Depends()],
):
    return _search_response(ctx, query, account_public_id=creditAccountId)


def _one_invoice(ctx: RequestContext, account_id: str, change) -> Callable[[Session], dict]:
    def work(session):
        invoice = change(session)
        lateness = Lateness.of_store(stores.get_config(session, ctx.principal.store_id), now_of(ctx.request))
        return invoice_wire(invoice, account_id, lateness)

    return work


@router.get("/accounts/{creditAccountId}/invoices/{invoiceId}", summary="Retrieve an invoice")
def retrieve_invoice(
    creditAccountId: str,
    invoiceId: str,
    ctx: Annotated[RequestContext, Depends(authorized(resources.READ_INVOICES))],
):
    return ctx.read(
        _one_invoice(
            ctx,
            creditAccountId,
            lambda session: service.get_invoice(session, ctx.principal, creditAccountId, invoiceId),
        ),
        # The invoice with its owner in one SELECT; the store's configuration is cached.
        single_statement=True,
    )


@router.put("/accounts/{creditAccountId}/invoices/{invoiceId}", summary="Change an invoice")
def change_invoice(
    creditAccountId: str,
    invoiceId: str,
    body: ChangeInvoiceIn,
    ctx: Annotated[RequestContext, Depends(authorized(resources.CREATE_INVOICES))],
    friendlyId: str | None = None,
):
    sent = body.model_fields_set
    optional = {
        "observation": body.observation if "observation" in sent else service.UNSET,
        "payment_link": body.paymentLink if "paymentLink" in sent else service.UNSET,
    }

    def work(session):
        invoice = service.change_invoice(
            session,
            ctx.principal,
            creditAccountId,
            invoiceId,
            status=body.status,
            method=payments.API,
            now=now_of(ctx.request),
            **optional,
        )
        if friendlyId and friendlyId != invoice.friendly_id:
            raise field_error("friendlyId", "does not match the invoice")

    return ctx.write(work)


@router.delete("/accounts/{creditAccountId}/invoices/{invoiceId}", summary="Cancel an invoice")
def cancel_invoice(
    creditAccountId: str,
    invoiceId: str,
    ctx: Annotated[RequestContext, Depends(authorized(resources.CREATE_INVOICES))],
):
    def work(session):
        service.cancel_invoice(session, ctx.principal, creditAccountId, invoiceId, now=now_of(ctx.request))

    return ctx.write(work)


@router.post("/accounts/{creditAccountId}/invoices/{invoiceId}/payments", summary="Mark an invoice as paid")
def pay_invoice(
    creditAccountId: str,
    invoiceId: str,
    ctx: Annotated[RequestContext, Depends(authorized(resources.PAY_INVOICE))],
    body: PaymentIn | None = None,
):
    value = body.value if body is not None else None
    return ctx.write(
        _one_invoice(
            ctx,
            creditAccountId,
            lambda session: service.pay_invoice(
                session,
                ctx.principal,
                creditAccountId,
                invoiceId,
                value=value,
                now=now_of(ctx.request),
                method=payments.API,
            ),
        )
    )


@router.put("/accounts/{creditAccountId}/invoices/{invoiceId}/postponement", summary="Postpone an invoice")
def postpone_invoice(
    creditAccountId: str,
    invoiceId: str,
    body: PostponeIn,
    ctx: Annotated[RequestContext, Depends(authorized(resources.CREATE_INVOICES))],
):
    def work(session):
        service.postpone_invoice(session, ctx.principal, creditAccountId, invoiceId, due_days=body.dueDays)

    return ctx.write(work)
