"""HTTP for the ledger: statements, and the manual debit."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from customer_credit.api.context import RequestContext, authorized
from customer_credit.api.wire import DecimalRoute
from customer_credit.auth import resources
from customer_credit.clock import now_of
from customer_credit.dates import parse_bound
from customer_credit.errors import field_error
from customer_credit.ledger import statements
from customer_credit.ledger.cursor import decode_cursor, encode_cursor
from customer_credit.ledger.schemas import DecreaseBalanceIn, statement_page_wire
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
    cursor: Annotated[
        str | None,
        Query(
            description=f"The `nextCursor` of the previous page. Without `from`/`to`, a page holds at "
            f"most {statements.STATEMENTS_PAGE} entries; its balances describe that page."
        ),
    ] = None,
):
    since = parse_bound("dateFrom", dateFrom, upper=False)
    until = parse_bound("dateTo", dateTo, upper=True)
    secret_key = ctx.request.app.state.secret_key
    positional = bool(from_ or to)
    if cursor and positional:
        raise field_error("cursor", "cannot be combined with from/to: page with one or the other")
    page_window = window(from_, to) if positional else None
    after = decode_cursor(cursor, secret_key) if cursor else None

    def work(session):
        if page_window is not None:
            page = statements.list_statements(
                session,
                ctx.principal,
                creditAccountId,
                since=since[0] if since else None,
                until=until,
                window=page_window,
            )
        else:
            page = statements.page_statements(
                session,
                ctx.principal,
                creditAccountId,
                since=since[0] if since else None,
                until=until,
                after=after,
            )
        next_cursor = encode_cursor(page.next_position, secret_key) if page.next_position else None
        return statement_page_wire(page, next_cursor)

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
                        session,
                        ctx.principal,
                        creditAccountId,
                        statementId,
                        body.value,
                        now=now_of(ctx.request),
                    ).value_cents
                )
            )
        }
    )
