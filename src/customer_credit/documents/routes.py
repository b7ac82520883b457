"""HTTP for documents (an extension): an invoice and an account statement as PDF files, for the
API, and the download answer the console and My Credits send as well."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from customer_credit.api.context import RequestContext, authorized
from customer_credit.auth import resources
from customer_credit.clock import now_of
from customer_credit.documents import service
from customer_credit.documents.service import Download

router = APIRouter(prefix="/api/creditcontrol/accounts", tags=["Documents (extension)"])

PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {service.PDF_MEDIA_TYPE: {}}, "description": "The PDF file (an attachment)"}
}


def pdf_response(download: Download, headers: dict[str, str] | None = None) -> Response:
    """Renders the document (outside any database session) as an attachment."""
    return Response(
        content=download.render(),
        media_type=service.PDF_MEDIA_TYPE,
        headers={
            **(headers or {}),
            "Content-Disposition": f'attachment; filename="{download.filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get(
    "/{creditAccountId}/invoices/{invoiceId}/pdf",
    summary="An invoice as a PDF file (extension)",
    response_class=Response,
    responses=PDF_RESPONSE,
)
def invoice_pdf(
    creditAccountId: str,
    invoiceId: str,
    ctx: Annotated[RequestContext, Depends(authorized(resources.READ_INVOICES))],
):
    now = now_of(ctx.request)
    with ctx.db.read() as session:
        download = service.invoice_download(session, ctx.principal, creditAccountId, invoiceId, now=now)
    return pdf_response(download)


@router.get(
    "/{creditAccountId}/statements/pdf",
    summary="An account statement for a period as a PDF file (extension)",
    response_class=Response,
    responses=PDF_RESPONSE,
)
def statement_pdf(
    creditAccountId: str,
    ctx: Annotated[RequestContext, Depends(authorized(resources.READ_STATEMENTS))],
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
):
    since, until = service.api_window(from_, to)
    now = now_of(ctx.request)
    with ctx.db.read() as session:
        download = service.statement_download(
            session, ctx.principal, creditAccountId, since=since, until=until, now=now
        )
    return pdf_response(download)
