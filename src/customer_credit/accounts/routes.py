"""HTTP for accounts and holders: parse, call one service function, shape the response."""

from typing import Annotated, cast

from fastapi import APIRouter, Body, Depends, Query, Request

from customer_credit.accounts import queries, service
from customer_credit.accounts.models import CLOSED, OPEN, Account
from customer_credit.accounts.schemas import (
    AddHolderIn,
    CloseAccountIn,
    OpenAccountIn,
    ToleranceIn,
    UpdateAccountIn,
    ValueIn,
    account_wire,
    holder_wire,
)
from customer_credit.api.context import RequestContext, authorized
from customer_credit.api.wire import DecimalRoute
from customer_credit.auth import resources
from customer_credit.clock import now_of
from customer_credit.errors import InvalidInput, NotFound, field_error
from customer_credit.paging import window
from customer_credit.validation import clean_text

router = APIRouter(prefix="/api/creditcontrol/accounts", tags=["Accounts"], route_class=DecimalRoute)

_STATUS_ALIASES = {OPEN: OPEN, "Opened": OPEN, CLOSED: CLOSED}


def _account_status(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    if raw not in _STATUS_ALIASES:
        raise field_error("status", "must be Open or Closed")
    return _STATUS_ALIASES[raw]


SEARCH_PARAMETERS = frozenset({"from", "to", "status", "email", "document", "documentType"})
# Parameters VTEX clients add to every call and that filter nothing (docs/clients.md): `an`, the
# VTEX account name; `sc`, the sales channel; `_`, jQuery's cache-buster. Any other unknown
# parameter is refused: ignored, a misspelt filter would answer every account.
HARMLESS_PARAMETERS = frozenset({"an", "sc", "_"})


def _refuse_unknown_parameters(request: Request) -> None:
    unknown = sorted(set(request.query_params) - SEARCH_PARAMETERS - HARMLESS_PARAMETERS)
    if unknown:
        raise InvalidInput(
            f"unknown query parameter(s): {', '.join(unknown)}; "
            f"the filters are {', '.join(sorted(SEARCH_PARAMETERS))}",
            code="UnknownQueryParameter",
            details=[{"field": name, "message": "unknown query parameter"} for name in unknown],
        )


@router.get("", summary="Search all accounts")
def search_accounts(
    request: Request,
    ctx: Annotated[RequestContext, Depends(authorized(resources.READ_ACCOUNTS))],
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
    status: str | None = None,
    email: str | None = None,
    document: str | None = None,
    documentType: str | None = None,
):
    _refuse_unknown_parameters(request)
    page_window = window(from_, to)
    status_filter = _account_status(status)
    # Filters, not an address or a document: any text matches nothing, but not control
    # characters or text longer than the field can be (the rule of the invoice search filters).
    if email:
        clean_text("email", email, max_length=254, allow_newlines=False)
    if document:
        clean_text("document", document, max_length=1000, allow_newlines=False)

    def work(session):
        found, total = service.search_accounts(
            session,
            ctx.principal,
            window=page_window,
            status=status_filter,
            email=email,
            document=document,
            document_type=documentType,
        )
        return {"data": [account_wire(account) for account in found], "summary": {"count": total}}

    return ctx.read(work, replica=True)


@router.post("", summary="Open an account")
def open_account(
    body: OpenAccountIn,
    ctx: Annotated[RequestContext, Depends(authorized(resources.CREATE_ACCOUNTS))],
):
    return ctx.write(
        lambda session: account_wire(
            service.open_account(
                session,
                ctx.principal,
                document=body.document,
                document_type=body.documentType,
                email=body.email,
                credit_limit=body.creditLimit,
                tolerance=body.tolerance,
                description=body.description,
                now=now_of(ctx.request),
            )
        )
    )


@router.get("/{creditAccountId}", summary="Retrieve an account by id")
def retrieve_account(
    creditAccountId: str,
    ctx: Annotated[RequestContext, Depends(authorized(resources.READ_ACCOUNTS))],
):
    # The hottest read: one statement on a plain connection, the row shaped as it comes (no
    # ORM object); the same query and the same answer as service.get_account.
    def work(connection):
        row = queries.read_latest(connection, ctx.principal.store_id, creditAccountId)
        if row is None:
            raise NotFound(f"no account {creditAccountId}", code="AccountNotFound")
        # A Row with Account's column names serves account_wire as the object would.
        return account_wire(cast(Account, row))

    return ctx.read_row(work)


@router.put(
    "/{creditAccountId}",
    summary="Update an account (also the legacy 'open or change' and 'update e-mail and description')",
)
def update_account(
    creditAccountId: str,
    body: UpdateAccountIn,
    ctx: Annotated[RequestContext, Depends(authorized(resources.CREATE_ACCOUNTS))],
):
    sent = body.sent()
    return ctx.write(
        lambda session: account_wire(
            service.put_account(session, ctx.principal, creditAccountId, sent, now=now_of(ctx.request))
        )
    )


@router.delete("/{creditAccountId}", summary="Close an account")
def close_account(
    creditAccountId: str,
    ctx: Annotated[RequestContext, Depends(authorized(resources.CREATE_ACCOUNTS))],
    body: Annotated[CloseAccountIn | None, Body()] = None,
):
    body = body or CloseAccountIn()
    return ctx.write(
        lambda session: account_wire(
            service.close_account(
                session,
                ctx.principal,
                creditAccountId,
                document=body.document,
                document_type=body.documentType,
                email=body.email,
                now=now_of(ctx.request),
            )
        )
    )


@router.put("/{creditAccountId}/creditlimit", summary="Change the credit limit of an account")
def change_credit_limit(
    creditAccountId: str,
    body: ValueIn,
    ctx: Annotated[RequestContext, Depends(authorized(resources.EDIT_CREDITS))],
):
    return ctx.write(
        lambda session: account_wire(
            service.change_credit_limit(
                session, ctx.principal, creditAccountId, body.value, now=now_of(ctx.request)
            )
        )
    )


@router.put("/{creditAccountId}/tolerance", summary="Change the tolerance of an account")
def change_tolerance(
    creditAccountId: str,
    body: ToleranceIn,
    ctx: Annotated[RequestContext, Depends(authorized(resources.CREATE_ACCOUNTS))],
):
    return ctx.write(
        lambda session: account_wire(
            service.change_tolerance(
                session, ctx.principal, creditAccountId, body.value, now=now_of(ctx.request)
            )
        )
    )


@router.post("/{creditAccountId}/holders", summary="Add an account holder")
def add_holder(
    creditAccountId: str,
    body: AddHolderIn,
    ctx: Annotated[RequestContext, Depends(authorized(resources.CREATE_ACCOUNTS))],
):
    return ctx.write(
        lambda session: holder_wire(
            service.add_holder(
                session, ctx.principal, creditAccountId, body.claims.email, now=now_of(ctx.request)
            )
        )
    )


@router.delete("/{creditAccountId}/holders/{holderId}", summary="Delete an account holder")
def remove_holder(
    creditAccountId: str,
    holderId: str,
    ctx: Annotated[RequestContext, Depends(authorized(resources.CREATE_ACCOUNTS))],
):
    return ctx.write(
        lambda session: {
            "id": service.remove_holder(
                session, ctx.principal, creditAccountId, holderId, now=now_of(ctx.request)
            ).public_id
        }
    )
