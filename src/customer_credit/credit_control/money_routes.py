"""HTTP for the credit-control changes of money (extensions, docs/credit-control.md): credit notes
and write-offs on an invoice, applying an account's unapplied balance to an invoice, and the
store's dunning levels.

A credit note or a write-off gives up money the store is owed, so it needs Edit credits;
applying a balance is a payment (Pay Invoice); dunning levels are store configuration."""

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import Field, StrictStr

from customer_credit.accounts import service as accounts
from customer_credit.api.context import RequestContext, authorized
from customer_credit.api.types import Amount, PositiveAmount, Rate, WholeNumber, WireModel
from customer_credit.api.wire import DecimalRoute
from customer_credit.auth import resources
from customer_credit.clock import now_of
from customer_credit.credit_control import adjustments, balance, dunning
from customer_credit.credit_control.models import CREDIT_NOTE, WRITE_OFF
from customer_credit.csv_io import export
from customer_credit.invoices import service as invoices
from customer_credit.invoices.models import Invoice
from customer_credit.paging import window

router = APIRouter(prefix="/api/creditcontrol", tags=["Credit control (extension)"], route_class=DecimalRoute)
INVOICE = "/accounts/{creditAccountId}/invoices/{invoiceId}"


class AdjustmentIn(WireModel):
    value: PositiveAmount
    reason: StrictStr
    # The client's own id for the document (its ERP's): sent again, it changes nothing.
    reference: StrictStr | None = None


class BalanceApplicationIn(WireModel):
    value: PositiveAmount
    reference: StrictStr | None = None


class LateFeeIn(WireModel):
    fixed: Amount = Decimal(0)
    rate: Rate = Decimal(0)
    dueDays: WholeNumber = dunning.DEFAULT_FEE_DUE_DAYS


class DunningLevelIn(WireModel):
    days: WholeNumber
    name: StrictStr
    timeOfDay: StrictStr | None = None
    subject: StrictStr | None = None
    textBody: StrictStr | None = None
    htmlBody: StrictStr | None = None
    lateFee: LateFeeIn | None = None


class DunningLevelsIn(WireModel):
    levels: list[DunningLevelIn] = Field(max_length=dunning.MAX_LEVELS)


def level_in(level: DunningLevelIn) -> dunning.LevelIn:
    fee = level.lateFee or LateFeeIn()
    return dunning.LevelIn(
        days=level.days,
        name=level.name,
        time_of_day=level.timeOfDay,
        subject=level.subject,
        text_body=level.textBody,
        html_body=level.htmlBody,
        fee_fixed=fee.fixed,
        fee_rate=fee.rate,
        fee_due_days=fee.dueDays,
    )


def _issue(kind: str, creditAccountId: str, invoiceId: str, body: AdjustmentIn, ctx: RequestContext):  # noqa: N803
    now = now_of(ctx.request)

    def work(session):
        document, _new = adjustments.issue(
            session,
            ctx.principal,
            creditAccountId,
            invoiceId,
            kind=kind,
            value=body.value,
            reason=body.reason,
            reference=body.reference,
            now=now,
        )
        invoice = session.get_one(Invoice, document.invoice_id)
        return adjustments.adjustment_wire(document, invoice, creditAccountId)

    return ctx.write(work)


@router.post(
    INVOICE + "/creditnotes", summary="Issue a credit note that reduces what the invoice owes (extension)"
)
def issue_credit_note(
    creditAccountId: str,  # noqa: N803 - the contract's names for the path parameters
    invoiceId: str,  # noqa: N803
    body: AdjustmentIn,
    ctx: Annotated[RequestContext, Depends(authorized(resources.EDIT_CREDITS))],
):
    return _issue(CREDIT_NOTE, creditAccountId, invoiceId, body, ctx)


@router.post(INVOICE + "/writeoffs", summary="Write off what the invoice owes, wholly or in part (extension)")
def write_off(
    creditAccountId: str,  # noqa: N803
    invoiceId: str,  # noqa: N803
    body: AdjustmentIn,
    ctx: Annotated[RequestContext, Depends(authorized(resources.EDIT_CREDITS))],
):
    return _issue(WRITE_OFF, creditAccountId, invoiceId, body, ctx)


@router.get(
    INVOICE + "/adjustments", summary="The invoice's credit notes and write-offs, newest first (extension)"
)
def invoice_adjustments(
    creditAccountId: str,  # noqa: N803
    invoiceId: str,  # noqa: N803
    ctx: Annotated[RequestContext, Depends(authorized(resources.READ_INVOICES))],
):
    def work(session):
        invoice = invoices.get_invoice(session, ctx.principal, creditAccountId, invoiceId)
        rows, _total = adjustments.list_adjustments(session, ctx.principal.store_id, invoice_pk=invoice.id)
        return {"data": [adjustments.adjustment_wire(doc, inv, owner) for doc, inv, owner in rows]}

    return ctx.read(work)


@router.get("/adjustments", summary="The store's credit notes and write-offs, newest first (extension)")
def search_adjustments(
    ctx: Annotated[RequestContext, Depends(authorized(resources.READ_INVOICES))],
    type: str | None = None,  # noqa: A002 - the query parameter's name
    creditAccountId: str | None = None,  # noqa: N803
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
):
    kind = adjustments.kind_of_wire(type)
    page = window(from_, to)

    def work(session):
        account_pk = None
        if creditAccountId:
            account_pk = accounts.get_account(session, ctx.principal, creditAccountId).id
        rows, total = adjustments.list_adjustments(
            session,
            ctx.principal.store_id,
            kind=kind,
            account_id=account_pk,
            offset=page.offset,
            limit=page.limit,
        )
        return {
            "data": [adjustments.adjustment_wire(doc, inv, owner) for doc, inv, owner in rows],
            "summary": {"count": total},
        }

    return ctx.read(work)


@router.get(
    "/adjustments.csv",
    summary="The store's credit notes and write-offs as CSV, oldest first (extension)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "One row per document"}},
)
def adjustments_csv(ctx: Annotated[RequestContext, Depends(authorized(resources.READ_INVOICES))]):
    return StreamingResponse(
        export.adjustments_csv(ctx.db, ctx.principal),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="credit-notes-and-write-offs.csv"'},
    )


@router.post(
    INVOICE + "/balanceapplications",
    summary="Pay the invoice, wholly or in part, from the account's unapplied balance (extension)",
)
def apply_balance(
    creditAccountId: str,  # noqa: N803
    invoiceId: str,  # noqa: N803
    body: BalanceApplicationIn,
    ctx: Annotated[RequestContext, Depends(authorized(resources.PAY_INVOICE))],
):
    now = now_of(ctx.request)

    def work(session):
        application, _new = balance.apply_balance(
            session,
            ctx.principal,
            creditAccountId,
            invoiceId,
            value=body.value,
            reference=body.reference,
            now=now,
        )
        invoice = session.get_one(Invoice, application.invoice_id)
        return balance.application_wire(application, invoice, creditAccountId)

    return ctx.write(work)


@router.get(
    "/accounts/{creditAccountId}/unappliedbalance",
    summary="What of the account's balance is not yet applied to its open invoices (extension)",
)
def unapplied_balance(
    creditAccountId: str,  # noqa: N803
    ctx: Annotated[RequestContext, Depends(authorized(resources.READ_ACCOUNTS))],
):
    return ctx.read(
        lambda session: balance.balance_wire(
            session, accounts.get_account(session, ctx.principal, creditAccountId)
        )
    )


@router.get("/dunninglevels", summary="The store's dunning levels (extension)")
def get_dunning_levels(ctx: Annotated[RequestContext, Depends(authorized(resources.READ_CONFIGURATION))]):
    return ctx.read(
        lambda session: {
            "levels": [
                dunning.level_wire(level) for level in dunning.get_levels(session, ctx.principal.store_id)
            ]
        }
    )


@router.put("/dunninglevels", summary="Replace the store's dunning levels (extension)")
def put_dunning_levels(
    body: DunningLevelsIn,
    ctx: Annotated[RequestContext, Depends(authorized(resources.EDIT_CONFIGURATION))],
):
    now = now_of(ctx.request)
    levels = [level_in(level) for level in body.levels]
    return ctx.write(
        lambda session: {
            "levels": [
                dunning.level_wire(level)
                for level in dunning.save_levels(session, ctx.principal, levels, now=now)
            ]
        }
    )
