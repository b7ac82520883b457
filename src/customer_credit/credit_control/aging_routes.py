"""HTTP for the aging report (an extension, docs/credit-control.md): store-wide with a page of
accounts, one account, and the whole report as CSV. Read Invoices."""

from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from customer_credit.api.context import RequestContext, authorized
from customer_credit.api.wire import DecimalRoute
from customer_credit.auth import resources
from customer_credit.clock import now_of
from customer_credit.credit_control import aging
from customer_credit.csv_io.export import aging_csv
from customer_credit.dates import timestamp
from customer_credit.errors import InvalidInput
from customer_credit.money import from_cents
from customer_credit.paging import window

router = APIRouter(prefix="/api/creditcontrol", tags=["Credit control"], route_class=DecimalRoute)

# Parameters VTEX clients add to every call (see accounts/routes.py); any other unknown one is
# refused, so that a misspelt `at` never silently answers for today.
HARMLESS_PARAMETERS = frozenset({"an", "sc", "_"})


def _refuse_unknown_parameters(request: Request, known: Iterable[str]) -> None:
    unknown = sorted(set(request.query_params) - set(known) - HARMLESS_PARAMETERS)
    if unknown:
        raise InvalidInput(
            f"unknown query parameter(s): {', '.join(unknown)}; "
            f"the parameters are {', '.join(sorted(known))}",
            code="UnknownQueryParameter",
            details=[{"field": name, "message": "unknown query parameter"} for name in unknown],
        )


def buckets_wire(buckets: aging.Buckets) -> dict[str, Decimal]:
    return {
        **{name: from_cents(cents) for name, cents in buckets.by_name().items()},
        "total": from_cents(buckets.total),
    }


def _moment_wire(report_now, zone) -> dict[str, str | None]:
    return {
        "at": timestamp(report_now),
        "day": report_now.astimezone(zone).date().isoformat(),
        "timezone": zone.key,
    }


def _store_report(ctx: RequestContext, at: str | None, page_window) -> aging.StoreAging:
    with ctx.db.read(replica=True) as session:
        zone = aging.zone_of(session, ctx.principal)
        now = aging.moment_of(at, zone, default=now_of(ctx.request))
        return aging.store_aging(session, ctx.principal, now=now, window=page_window)


@router.get("/aging", summary="Aging report of the store")
def store_aging(
    request: Request,
    ctx: Annotated[RequestContext, Depends(authorized(resources.READ_INVOICES))],
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
    at: str | None = None,
):
    """What customers still owe on Opened invoices by days overdue (current, 1–30, 31–60, 61–90,
    over 90), store-wide and per account (largest total first, paged with from/to), at `at`
    (an ISO 8601 moment, or a date: that day in the store's time zone; default now)."""
    _refuse_unknown_parameters(request, ("from", "to", "at"))
    page_window = window(from_, to)
    report = _store_report(ctx, at, page_window)
    return {
        **_moment_wire(report.now, report.zone),
        "summary": {"count": report.account_count, **buckets_wire(report.buckets)},
        "data": [{"creditAccountId": row.public_id, **buckets_wire(row.buckets)} for row in report.rows],
    }


@router.get(
    "/aging.csv",
    summary="Aging report of the store as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "One row per account, then the total"}},
)
def store_aging_csv(
    request: Request,
    ctx: Annotated[RequestContext, Depends(authorized(resources.READ_INVOICES))],
    at: str | None = None,
):
    """Every account that owes anything, largest total first, then a total row; amounts with
    two decimals."""
    _refuse_unknown_parameters(request, ("at",))
    report = _store_report(ctx, at, None)
    return Response(
        "".join(aging_csv(report)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="aging-{report.today.isoformat()}.csv"'},
    )


@router.get("/accounts/{creditAccountId}/aging", summary="Aging report of an account")
def account_aging(
    creditAccountId: str,  # noqa: N803 - the contract's name for the path parameter
    request: Request,
    ctx: Annotated[RequestContext, Depends(authorized(resources.READ_INVOICES))],
    at: str | None = None,
):
    """What the account still owes on Opened invoices by days overdue, at `at` (default now)."""
    _refuse_unknown_parameters(request, ("at",))

    def work(session):
        zone = aging.zone_of(session, ctx.principal)
        now = aging.moment_of(at, zone, default=now_of(ctx.request))
        row = aging.account_aging(session, ctx.principal, creditAccountId, now=now)
        return {**_moment_wire(now, zone), "creditAccountId": row.public_id, **buckets_wire(row.buckets)}

    return ctx.read(work)
