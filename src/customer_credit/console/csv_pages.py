"""CSV: streamed exports of the accounts table and of the current invoice search; imports with a
preview (per-row errors) before anything is applied."""

import base64
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from starlette.datastructures import FormData, UploadFile

from customer_credit.accounts.models import CLOSED, OPEN
from customer_credit.clock import now_of
from customer_credit.console.home import page_context
from customer_credit.console.invoices_pages import parse_filters
from customer_credit.console.session import Visit, changing, signed_in
from customer_credit.console.web import SECURITY_HEADERS, Message, error_message, render
from customer_credit.csv_io import export, importing
from customer_credit.db.base import utcnow
from customer_credit.errors import DomainError

router = APIRouter(prefix="/admin", include_in_schema=False)


def _download(request: Request, visit: Visit, name: str, rows) -> StreamingResponse:
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        rows,
        media_type="text/csv; charset=utf-8",
        headers={
            **SECURITY_HEADERS,
            "Content-Disposition": f'attachment; filename="{visit.store.name}-{name}-{stamp}.csv"',
        },
    )


@router.get("/export/accounts.csv")
def export_accounts(
    request: Request, visit: Annotated[Visit, Depends(signed_in)], q: str = "", status: str = OPEN
):
    status = status if status in (OPEN, CLOSED) else OPEN
    rows = export.accounts_csv(request.app.state.db, visit.principal, status=status, text=q)
    return _download(request, visit, "accounts", rows)


@router.get("/export/invoices.csv")
def export_invoices(request: Request, visit: Annotated[Visit, Depends(signed_in)]):
    try:
        filters, _values = parse_filters(request.query_params, visit.presentation, now=now_of(request))
    except DomainError as error:
        return _import_page(
            request, visit, kind=importing.ACCOUNTS, messages=[error_message(error)], status_code=400
        )
    rows = export.invoices_csv(request.app.state.db, visit.principal, filters, now=now_of(request))
    return _download(request, visit, "invoices", rows)


@router.get("/export/adjustments.csv")
def export_adjustments(request: Request, visit: Annotated[Visit, Depends(signed_in)]):
    rows = export.adjustments_csv(request.app.state.db, visit.principal)
    return _download(request, visit, "credit-notes-and-write-offs", rows)


@router.get("/import")
def import_form(
    request: Request, visit: Annotated[Visit, Depends(signed_in)], kind: str = importing.ACCOUNTS
):
    return _import_page(request, visit, kind=_known_kind(kind))


def _import_page(
    request: Request, visit: Visit, *, kind: str, messages: list[Message] | None = None, status_code=200
):
    """The import and export page, with `kind` chosen in its import form."""
    return render(
        request,
        "import.html",
        page_context(
            visit,
            "csv",
            "Import and export",
            kinds=importing.KINDS,
            kind=kind,
            messages=messages or [],
        ),
        status_code=status_code,
    )


def _known_kind(kind: str) -> str:
    return kind if kind in importing.KINDS else importing.ACCOUNTS


def _result_page(
    request: Request, visit: Visit, result: importing.ImportResult, text: str, *, applying: bool
):
    status_code = 200
    if result.file_error or result.errors:
        status_code = 400
    return render(
        request,
        "import_result.html",
        page_context(
            visit,
            "csv",
            "Import preview" if not applying else "Import result",
            result=result,
            encoded=base64.b64encode(text.encode()).decode(),
            applying=applying,
        ),
        status_code=status_code,
    )


async def _file_text(form: FormData, field: str) -> str:
    """The text of the posted file; raises FileProblem, whose message says what is wrong."""
    upload = form.get(field)
    if isinstance(upload, UploadFile):
        data = await upload.read(importing.MAX_IMPORT_BYTES + 1)
    elif isinstance(upload, str):
        # The previewed file, carried back by the apply form.
        try:
            data = base64.b64decode(upload, validate=True)
        except ValueError:
            raise importing.FileProblem(
                "the previewed file was damaged on its way back; upload it again"
            ) from None
    else:
        raise importing.FileProblem("choose a CSV file")
    if not data:
        raise importing.FileProblem("the file is empty")
    return importing.decode(data)


@router.post("/import/preview")
async def import_preview(request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]):
    return await _import(request, posted, field="file", applying=False)


@router.post("/import/apply")
async def import_apply(request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]):
    return await _import(request, posted, field="content", applying=True)


async def _import(request: Request, posted: tuple[Visit, FormData], *, field: str, applying: bool):
    """Previews or applies the file posted in `field`, and shows the outcome."""
    visit, form = posted
    kind = str(form.get("kind") or "")
    try:
        text = await _file_text(form, field)
    except importing.FileProblem as problem:
        # A failed apply goes back to the blank form; a failed preview keeps the chosen kind.
        shown_kind = importing.ACCOUNTS if applying else _known_kind(kind)
        return _import_page(
            request, visit, kind=shown_kind, messages=[Message("error", str(problem))], status_code=400
        )
    result = await run_in_threadpool(
        importing.run, request.app.state.db, visit.principal, kind, text, apply=applying
    )
    return _result_page(request, visit, result, text, applying=applying)
