"""HTTP for the ledger: statements, and the manual debit."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from customer_credit.api.context import RequestContext, authorized
from customer_credit.api.wire import DecimalRoute
from customer_credit.auth import resources
from customer_credit.dates import parse_bound
from customer_credit.ledger import statements
from customer_credit.ledger.schemas import DecreaseBalanceIn, statement_wire
from customer_credit.money import from_cents
from customer_credit.paging import window

router = APIRouter(prefix="/api/creditcontrol/accounts", tags=["Statements"], route_class=DecimalRoute)


@router.get("/{creditAccountId}/statements", summary="Account statements")
def account_statements(
    creditAccountId: str,
    ctx: Annotated[RequestContext, Depends(authorized(resources.READ_STATEMENTS))],
    dateFrom: str | None = None,
    dateTo: str | None = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
):
    since = parse_bound("dateFrom", dateFrom, upper=False)
    until = parse_bound("dateTo", dateTo, upper=True)
    page_window = window(from_, to) if (from_ or to) else None

    def work(session):
        page = statements.list_statements(
            session,
            ctx.principal,
            creditAccountId,
            since=since[0] if since else None,
            until=until,
            window=page_window,
        )
        return {
            "statements": [statement_wire(entry) for entry in page.entries],
            "currentBalance": from_cents(page.current_balance_cents),
            "intervalBalance": from_cents(page.interval_balance_cents),
            "previousBalance": from_cents(page.previous_balance_cents),
            "count": page.count,
        }

    return ctx.read(work, replica=True)


@router.put("/{creditAccountId}/statements/{statementId}", summary="Decrease the balance of an account")
def decrease_balance(
    creditAccountId: str,
    statementId: str,
    body: DecreaseBalanceIn,
    ctx: Annotated[RequestContext, Depends(authorized(resources.EDIT_CREDITS))],
):
    return ctx.write(
        lambda session: {
            "value": str(
                from_cents(
                    statements.decrease_balance(
                        session, ctx.principal, creditAccountId, statementId, body.value
                    ).value_cents
                )
            )
        }
    )
