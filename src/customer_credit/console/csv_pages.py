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
        return render(
            request,
            "import.html",
            page_context(
                visit,
                "csv",
                "Import and export",
                messages=[error_message(error)],
                kinds=importing.KINDS,
                kind=importing.ACCOUNTS,
            ),
            status_code=400,
        )
    rows = export.invoices_csv(request.app.state.db, visit.principal, filters, now=now_of(request))
    return _download(request, visit, "invoices", rows)


@router.get("/import")
def import_form(
    request: Request, visit: Annotated[Visit, Depends(signed_in)], kind: str = importing.ACCOUNTS
):
    return render(
        request,
        "import.html",
        page_context(
            visit,
            "csv",
            "Import and export",
            kinds=importing.KINDS,
            kind=kind if kind in importing.KINDS else importing.ACCOUNTS,
        ),
    )


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


async def _file_text(form: FormData, field: str) -> tuple[str | None, str | None]:
    upload = form.get(field)
    if isinstance(upload, UploadFile):
        data = await upload.read(importing.MAX_IMPORT_BYTES + 1)
    elif isinstance(upload, str):
        # The previewed file, carried back by the apply form.
        try:
            data = base64.b64decode(upload, validate=True)
        except ValueError:
            return None, "the previewed file was damaged on its way back; upload it again"
    else:
        return None, "choose a CSV file"
    if not data:
        return None, "the file is empty"
    try:
        return importing.decode(data), None
    except importing.FileProblem as problem:
        return None, str(problem)


@router.post("/import/preview")
async def import_preview(request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]):
    visit, form = posted
    kind = str(form.get("kind") or "")
    text, problem = await _file_text(form, "file")
    if problem is not None:
        return render(
            request,
            "import.html",
            page_context(
                visit,
                "csv",
                "Import and export",
                kinds=importing.KINDS,
                kind=kind if kind in importing.KINDS else importing.ACCOUNTS,
                messages=[Message("error", problem)],
            ),
            status_code=400,
        )
    result = await run_in_threadpool(
        importing.run, request.app.state.db, visit.principal, kind, text, apply=False
    )
    return _result_page(request, visit, result, text, applying=False)


@router.post("/import/apply")
async def import_apply(request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]):
    visit, form = posted
    kind = str(form.get("kind") or "")
    text, problem = await _file_text(form, "content")
    if problem is not None:
        return render(
            request,
            "import.html",
            page_context(
                visit,
                "csv",
                "Import and export",
                kinds=importing.KINDS,
                kind=importing.ACCOUNTS,
                messages=[Message("error", problem)],
            ),
            status_code=400,
        )
    result = await run_in_threadpool(
        importing.run, request.app.state.db, visit.principal, kind, text, apply=True
    )
    return _result_page(request, visit, result, text, applying=True)
