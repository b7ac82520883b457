"""The aging report in the console: the store-wide buckets, the accounts that owe anything
(largest total first, paged) and the CSV download. Viewers may see it."""

from math import ceil
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from customer_credit.clock import now_of
from customer_credit.console.accounts_pages import account_url, page_number
from customer_credit.console.home import page_context
from customer_credit.console.session import Visit, signed_in
from customer_credit.console.web import SECURITY_HEADERS, details_of, error_message, render
from customer_credit.credit_control import aging
from customer_credit.csv_io.export import aging_csv
from customer_credit.errors import DomainError
from customer_credit.paging import Window

router = APIRouter(prefix="/admin", include_in_schema=False)

PAGE_SIZE = 50


@router.get("/aging")
def aging_page(request: Request, visit: Annotated[Visit, Depends(signed_in)], at: str = "", page: str = ""):
    """`at`: a day (YYYY-MM-DD, in the store's time zone) to see the aging as of; today when empty."""
    at = at.strip()[:40]
    context = page_context(
        visit,
        "aging",
        "Aging",
        labels=aging.BUCKET_LABELS,
        at=at,
        errors={},
        report=None,
        page=1,
        pages=1,
        account_url=account_url,
    )
    with request.app.state.db.read(replica=True) as session:
        try:
            now = aging.moment_of(at, aging.zone_of(session, visit.principal), default=now_of(request))
        except DomainError as error:
            context.update(errors=details_of(error), messages=[error_message(error)])
            return render(request, "aging.html", context, status_code=400)
        number = page_number(page)
        report = aging.store_aging(
            session, visit.principal, now=now, window=Window((number - 1) * PAGE_SIZE, PAGE_SIZE)
        )
        pages = max(1, ceil(report.account_count / PAGE_SIZE))
        if number > pages:  # past the last page: show the last one
            number = pages
            report = aging.store_aging(
                session, visit.principal, now=now, window=Window((number - 1) * PAGE_SIZE, PAGE_SIZE)
            )
    context.update(report=report, page=number, pages=pages)
    return render(request, "aging.html", context)


@router.get("/export/aging.csv")
def export_aging(request: Request, visit: Annotated[Visit, Depends(signed_in)], at: str = ""):
    with request.app.state.db.read(replica=True) as session:
        try:
            now = aging.moment_of(
                at.strip()[:40], aging.zone_of(session, visit.principal), default=now_of(request)
            )
        except DomainError:
            return aging_page(request, visit, at=at)
        report = aging.store_aging(session, visit.principal, now=now)
    return Response(
        "".join(aging_csv(report)),
        media_type="text/csv; charset=utf-8",
        headers={
            **SECURITY_HEADERS,
            "Content-Disposition": (
                f'attachment; filename="{visit.store.name}-aging-{report.today.isoformat()}.csv"'
            ),
        },
    )
