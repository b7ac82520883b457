"""CSV: streamed exports of the accounts table and of the current invoice search; imports run as
worker jobs (csv_io.jobs) with a progress page, a preview (errors first) before anything is
applied, and the result."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.datastructures import FormData, UploadFile

from customer_credit.accounts.models import CLOSED, OPEN
from customer_credit.clock import now_of
from customer_credit.console.home import page_context
from customer_credit.console.invoices_pages import parse_filters
from customer_credit.console.session import Visit, changing, signed_in
from customer_credit.console.web import SECURITY_HEADERS, Message, error_message, redirect, render
from customer_credit.csv_io import export, importing, jobs
from customer_credit.db.base import utcnow
from customer_credit.errors import DomainError, NotFound
from customer_credit.i18n import gettext as _

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
        return _import_page(request, visit, messages=[error_message(error)], status_code=400)
    rows = export.invoices_csv(request.app.state.db, visit.principal, filters, now=now_of(request))
    return _download(request, visit, "invoices", rows)


@router.get("/export/adjustments.csv")
def export_adjustments(request: Request, visit: Annotated[Visit, Depends(signed_in)]):
    rows = export.adjustments_csv(request.app.state.db, visit.principal)
    return _download(request, visit, "credit-notes-and-write-offs", rows)


def _kind_label(kind: str | None) -> str:
    return {importing.ACCOUNTS: _("Accounts"), importing.SETTLEMENTS: _("Invoice payments")}.get(
        kind or "", ""
    )


@router.get("/import")
def import_form(request: Request, visit: Annotated[Visit, Depends(signed_in)], kind: str = ""):
    return _import_page(request, visit, kind=_known_kind(kind))


def _import_page(
    request: Request,
    visit: Visit,
    *,
    kind: str = "",
    errors: dict[str, str] | None = None,
    messages: list[Message] | None = None,
    status_code=200,
):
    """The import and export page, with `kind` chosen in its import form ("": recognised from
    the file's header)."""
    return render(
        request,
        "import.html",
        page_context(
            visit,
            "csv",
            "Import and export",
            kinds=importing.KINDS,
            kind=kind,
            errors=errors or {},
            messages=messages or [],
        ),
        status_code=status_code,
    )


def _known_kind(kind: str) -> str:
    return kind if kind in importing.KINDS else ""


async def _file_text(form: FormData, field: str) -> tuple[str, str]:
    """The text and name of the posted file; raises FileProblem, whose message says what is
    wrong."""
    upload = form.get(field)
    if not isinstance(upload, UploadFile):
        raise importing.FileProblem(_("choose a CSV file"))
    data = await upload.read(importing.MAX_IMPORT_BYTES + 1)
    if not data:
        raise importing.FileProblem(_("the file is empty"))
    return importing.decode(data), upload.filename or "import.csv"


def _mismatch_message(mismatch: jobs.KindMismatch) -> str:
    if mismatch.chosen is None:
        return _("its header matches neither an accounts file nor an invoice payments file")
    return _("This looks like an {found} file; choose {found_label} or upload an {chosen} file").format(
        found=_kind_label(mismatch.detected).lower(),
        found_label=_kind_label(mismatch.detected),
        chosen=_kind_label(mismatch.chosen).lower(),
    )


@router.post("/import/preview")
async def import_preview(request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]):
    """Stores the file as a queued import and shows its page (progress, then the preview)."""
    visit, form = posted
    kind = _known_kind(str(form.get("kind") or ""))
    try:
        text, filename = await _file_text(form, "file")
        upload = jobs.check_upload(visit.principal, kind, text)
    except importing.FileProblem as problem:
        return _import_page(request, visit, kind=kind, errors={"file": str(problem)}, status_code=400)
    except jobs.KindMismatch as mismatch:
        return _import_page(
            request, visit, kind=kind, errors={"kind": _mismatch_message(mismatch)}, status_code=400
        )
    except DomainError as error:
        return _import_page(request, visit, kind=kind, errors={"file": error.message}, status_code=400)
    db, now = request.app.state.db, now_of(request)
    import_id = await run_in_threadpool(
        jobs.queue_import,
        db,
        visit.principal,
        operator_id=visit.operator.id,
        upload=upload,
        filename=filename,
        now=now,
    )
    await run_in_threadpool(jobs.run_inline, db, visit.store.id, import_id, now)
    return redirect(request, f"/admin/import/{import_id}")


@router.post("/import/{import_id}/apply")
async def import_apply(
    request: Request, import_id: int, posted: Annotated[tuple[Visit, FormData], Depends(changing)]
):
    visit, _form = posted
    db, now = request.app.state.db, now_of(request)
    try:
        await run_in_threadpool(jobs.request_apply, db, visit.store.id, import_id, now=now)
    except NotFound as error:
        return _not_found(request, visit, error)
    except DomainError as error:
        return redirect(request, f"/admin/import/{import_id}", error_message(error))
    await run_in_threadpool(jobs.run_inline, db, visit.store.id, import_id, now)
    return redirect(request, f"/admin/import/{import_id}")


def _not_found(request: Request, visit: Visit, error: NotFound):
    return render(
        request,
        "not_found.html",
        page_context(visit, "csv", "Not found", message=error.message),
        status_code=404,
    )


@router.get("/import/{import_id}")
def import_page(
    request: Request, import_id: int, visit: Annotated[Visit, Depends(signed_in)], show: str = ""
):
    """While the job runs: its progress, refreshed every 2 s (no script needed). Then the preview
    or the result, errors first; `show=errors` lists the rows with errors only."""
    errors_only = show == "errors"
    try:
        shown = jobs.view(request.app.state.db, visit.store.id, import_id, errors_only=errors_only)
    except NotFound as error:
        return _not_found(request, visit, error)
    if shown.running:
        return render(
            request,
            "import_progress.html",
            page_context(visit, "csv", "Import in progress", job=shown, kind_label=_kind_label(shown.kind)),
        )
    status_code = 400 if shown.errors or shown.status == "failed" else 200
    return render(
        request,
        "import_result.html",
        page_context(
            visit,
            "csv",
            "Import result" if shown.status == "done" else "Import preview",
            job=shown,
            kind_label=_kind_label(shown.kind),
            errors_only=errors_only,
            rows_shown=jobs.ROWS_SHOWN,
        ),
        status_code=status_code,
    )


@router.get("/import/{import_id}/progress.json")
def import_progress(request: Request, import_id: int, visit: Annotated[Visit, Depends(signed_in)]):
    try:
        shown = jobs.view(request.app.state.db, visit.store.id, import_id)
    except NotFound as error:
        return JSONResponse({"error": error.message}, status_code=404, headers=SECURITY_HEADERS)
    return JSONResponse(
        {
            "status": shown.status,
            "doneRows": shown.done_rows,
            "totalRows": shown.total_rows,
            "percent": shown.percent,
        },
        headers=SECURITY_HEADERS,
    )
