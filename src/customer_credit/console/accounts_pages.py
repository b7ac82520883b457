"""Accounts: the searchable table, the account page and its actions. Each action is one call of
an accounts service function in one write transaction; a refusal of the service is shown on
the page as the API would have said it."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from math import ceil
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData

from customer_credit.accounts import service as accounts
from customer_credit.accounts.models import CLOSED, OPEN, Account
from customer_credit.clock import now_of
from customer_credit.console import numbers, overdue_pages, search
from customer_credit.console.home import page_context
from customer_credit.console.session import Visit, changing, signed_in
from customer_credit.console.web import Message, redirect, refusal, render
from customer_credit.credit_control import overdue_policy, trust
from customer_credit.documents.service import default_period
from customer_credit.errors import DomainError, NotFound, field_error, integrity_errors_as_conflicts
from customer_credit.i18n import N_
from customer_credit.i18n import gettext as _
from customer_credit.invoices import search as invoice_search
from customer_credit.invoices.overdue_days import Lateness
from customer_credit.invoices.queries import InvoiceFilters
from customer_credit.ledger import statements
from customer_credit.ledger.service import figures
from customer_credit.money import MoneyError
from customer_credit.my_credits import links
from customer_credit.paging import Window
from customer_credit.stores import service as stores

router = APIRouter(prefix="/admin", include_in_schema=False)

PAGE_SIZE = 20
STATEMENTS_PAGE = 25
DOCUMENT_TYPES = accounts.DOCUMENT_TYPES


def page_number(raw: str | None, pages: int | None = None) -> int:
    try:
        number = int(raw or "1")
    except ValueError:
        number = 1
    number = max(1, min(number, 1_000_000))
    if pages is not None:
        number = min(number, max(1, pages))
    return number


def account_url(public_id: str) -> str:
    return f"/admin/accounts/{quote(public_id, safe='')}"


def form_text(form: FormData, name: str, max_length: int = 2000) -> str:
    value = form.get(name)
    return value.strip()[:max_length] if isinstance(value, str) else ""


def _parsed_field(form: FormData, name: str, parse, *, required: bool, locale: str | None):
    raw = form_text(form, name, 40)
    if not raw:
        if required:
            raise field_error(name, "is required")
        return None
    try:
        # No label: the form shows the refusal beside the field, after the field's own label.
        return parse(raw, locale)
    except MoneyError as error:
        raise field_error(name, str(error)) from None


def amount_field(form: FormData, name: str, *, required: bool = True, locale: str | None = None):
    """An amount as typed in the store's `locale` (25,000.00 or 22.500,00, R$ allowed)."""
    return _parsed_field(form, name, numbers.parse_amount, required=required, locale=locale)


def rate_field(form: FormData, name: str, *, required: bool = True, locale: str | None = None):
    """A rate typed as a percentage (5%, 2,5%), returned as a share (0.05) like money.parse_rate."""
    return _parsed_field(form, name, numbers.parse_rate, required=required, locale=locale)


@router.get("/accounts")
def accounts_table(
    request: Request,
    visit: Annotated[Visit, Depends(signed_in)],
    q: str = "",
    status: str = OPEN,
    page: str = "1",
    sort: str = "",
):
    status = status if status in (OPEN, CLOSED) else OPEN
    order = search.account_sort(sort)
    with request.app.state.db.read(replica=True) as session:
        query = search.accounts_matching(visit.store.id, status=status, text=q)
        total = search.count(session, query)
        pages = max(1, ceil(total / PAGE_SIZE))
        number = page_number(page, pages)
        found = list(
            session.scalars(
                query.order_by(*search.ordered(Account, order.order))
                .offset((number - 1) * PAGE_SIZE)
                .limit(PAGE_SIZE)
            )
        )
        rows = [(account, figures(account)) for account in found]
        return render(
            request,
            "accounts.html",
            page_context(
                visit,
                "accounts",
                "Accounts",
                rows=rows,
                total=total,
                page=number,
                pages=pages,
                filters={"q": q, "status": status},
                statuses=(OPEN, CLOSED),
                sort=order,
            ),
        )


@router.get("/accounts/new")
def new_account_form(request: Request, visit: Annotated[Visit, Depends(signed_in)]):
    return _new_account_page(request, visit, values={}, errors={})


def _new_account_page(
    request: Request,
    visit: Visit,
    *,
    values: dict,
    errors: dict,
    messages: list[Message] | None = None,
    status_code: int = 200,
):
    return render(
        request,
        "account_new.html",
        page_context(
            visit,
            "accounts",
            "Open an account",
            values=values,
            errors=errors,
            document_types=DOCUMENT_TYPES,
            default_limit=_default_limit(request, visit),
            messages=messages or [],
        ),
        status_code=status_code,
    )


def _default_limit(request: Request, visit: Visit) -> int:
    with request.app.state.db.read() as session:
        return stores.get_config(session, visit.store.id).default_credit_cents


@router.post("/accounts/new")
def open_account(request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]):
    visit, form = posted
    values = {
        name: form_text(form, name)
        for name in ("document", "documentType", "email", "creditLimit", "tolerance", "description")
    }
    try:
        with request.app.state.db.write() as session:
            account = accounts.open_account(
                session,
                visit.principal,
                document=values["document"],
                document_type=values["documentType"],
                email=values["email"],
                credit_limit=amount_field(
                    form, "creditLimit", required=False, locale=visit.presentation.locale
                ),
                tolerance=rate_field(form, "tolerance", required=False, locale=visit.presentation.locale),
                description=values["description"] or None,
                # Accounts opened in the console get a random UUID (domain.md, Identifiers).
                public_id=str(uuid.uuid4()),
                now=now_of(request),
            )
            public_id = account.public_id
    except DomainError as error:
        errors, messages = refusal(error)
        return _new_account_page(
            request, visit, values=values, errors=errors, messages=messages, status_code=error.status_code
        )
    return redirect(
        request, account_url(public_id), Message("ok", _("Account %(id)s opened.") % {"id": public_id})
    )


def account_page(
    request: Request,
    visit: Visit,
    public_id: str,
    *,
    messages=(),
    status_code: int = 200,
    errors: dict | None = None,
    form_name: str = "",
    values: dict | None = None,
    link=None,
    inline_errors: bool = False,
):
    params = request.query_params
    db = request.app.state.db
    with db.read() as session:
        try:
            account = accounts.get_account(session, visit.principal, public_id)
        except NotFound as error:
            return render(
                request,
                "not_found.html",
                page_context(visit, "accounts", "Not found", message=error.message),
                status_code=404,
            )
        config = stores.get_config(session, visit.store.id)
        holders = accounts.holders_of(session, account) if account.status == OPEN else []
        count_only = statements.list_statements(
            session, visit.principal, public_id, since=None, until=None, window=Window(0, 1)
        )
        statement_pages = max(1, ceil(count_only.count / STATEMENTS_PAGE))
        spage = page_number(params.get("spage") or str(statement_pages), statement_pages)
        offset = (spage - 1) * STATEMENTS_PAGE
        page = statements.list_statements(
            session,
            visit.principal,
            public_id,
            since=None,
            until=None,
            window=Window(offset, STATEMENTS_PAGE),
        )
        invoice_count = invoice_search.search_invoices(
            session, visit.principal, InvoiceFilters(), Window(0, 1), account_public_id=public_id
        ).summary["count"]
        invoice_pages = max(1, ceil(invoice_count / PAGE_SIZE))
        ipage = page_number(params.get("ipage"), invoice_pages)
        found = invoice_search.search_invoices(
            session,
            visit.principal,
            InvoiceFilters(),
            Window((ipage - 1) * PAGE_SIZE, PAGE_SIZE),
            account_public_id=public_id,
        )
        now = now_of(request)
        lateness = Lateness.of_store(config, now)
        invoice_rows = [
            (invoice, lateness.of(invoice), search.display_status(invoice, now)) for invoice, _ in found.rows
        ]
        return render(
            request,
            "account.html",
            page_context(
                visit,
                "accounts",
                f"Account {account.public_id}",
                account=account,
                n=figures(account),
                holders=holders,
                entries=page.lines,
                statement_count=page.count,
                spage=spage,
                statement_pages=statement_pages,
                invoices=invoice_rows,
                summary=found.summary,
                ipage=ipage,
                invoice_pages=invoice_pages,
                transactions=search.transactions_of(session, account),
                config=config,
                document_types=DOCUMENT_TYPES,
                errors=errors or {},
                form_name=form_name,
                values=values or {},
                link=link,
                messages=list(messages),
                inline_errors=inline_errors,
                url=account_url(public_id),
                my_credits_links=[
                    (row, links.status_of(row, now))
                    for row in links.list_links(session, visit.principal, public_id)
                ],
                link_hours={
                    "default": request.app.state.settings.my_credits_link_ttl_hours,
                    "max": links.MY_CREDITS_LINK_MAX_HOURS,
                },
                is_open=account.status == OPEN,
                close_refusal=accounts.closing_refusal(session, account) if account.status == OPEN else None,
                statement_period=default_period(visit.presentation.zone, now),
                trust_change=trust.last_change(session, account),
                trust_levels=trust.TRUST_LEVELS,
                **overdue_pages.override_section(session, account, now),
            ),
            status_code=status_code,
        )


def refusal_page(
    request: Request,
    visit: Visit,
    public_id: str,
    error: DomainError,
    *,
    form_name: str,
    values: dict | None = None,
    renames: dict[str, str] | None = None,
):
    """The account page saying why the service refused the form `form_name`, with what was typed:
    once, by the form (`renames`: the service's field names that the form names otherwise)."""
    errors, messages = refusal(error, renames)
    return account_page(
        request,
        visit,
        public_id,
        messages=messages,
        status_code=error.status_code,
        errors=errors,
        form_name=form_name,
        values=values,
        inline_errors=True,
    )


def act_on_account(
    request: Request,
    visit: Visit,
    public_id: str,
    form_name: str,
    values: dict,
    work: Callable,
    done: str,
    *,
    after: str | None = None,
    renames: dict[str, str] | None = None,
):
    try:
        with integrity_errors_as_conflicts(), request.app.state.db.write() as session:
            work(session)
    except DomainError as error:
        return refusal_page(
            request, visit, public_id, error, form_name=form_name, values=values, renames=renames
        )
    return redirect(request, after or account_url(public_id), Message("ok", done))


@router.get("/accounts/{public_id}")
def account_view(public_id: str, request: Request, visit: Annotated[Visit, Depends(signed_in)]):
    return account_page(request, visit, public_id)


@router.post("/accounts/{public_id}/edit")
def edit_account(
    public_id: str, request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]
):
    visit, form = posted
    values = {name: form_text(form, name) for name in ("email", "document", "documentType")}
    return act_on_account(
        request,
        visit,
        public_id,
        "edit",
        values,
        lambda session: accounts.update_account(
            session,
            visit.principal,
            public_id,
            email=values["email"],
            document=values["document"],
            document_type=values["documentType"],
            now=now_of(request),
        ),
        _("Account details saved."),
    )


@dataclass(frozen=True)
class _FigureForm:
    """A one-field form that sets one figure of the account."""

    name: str
    field: str
    parse: Callable
    change: Callable
    done: str


_LIMIT_FORM = _FigureForm(
    "limit", "creditLimit", amount_field, accounts.change_credit_limit, N_("Credit limit changed.")
)
_TOLERANCE_FORM = _FigureForm(
    "tolerance", "tolerance", rate_field, accounts.change_tolerance, N_("Tolerance changed.")
)


@router.post("/accounts/{public_id}/limit")
def change_limit(
    public_id: str, request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]
):
    return _change_figure(request, public_id, posted, _LIMIT_FORM)


@router.post("/accounts/{public_id}/tolerance")
def change_tolerance(
    public_id: str, request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]
):
    return _change_figure(request, public_id, posted, _TOLERANCE_FORM)


def _change_figure(request: Request, public_id: str, posted: tuple[Visit, FormData], figure: _FigureForm):
    visit, form = posted
    values = {figure.field: form_text(form, figure.field, 40)}
    return act_on_account(
        request,
        visit,
        public_id,
        figure.name,
        values,
        lambda session: figure.change(
            session,
            visit.principal,
            public_id,
            figure.parse(form, figure.field, locale=visit.presentation.locale),
            now=now_of(request),
        ),
        _(figure.done),
    )


@router.post("/accounts/{public_id}/holders")
def add_holder(
    public_id: str, request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]
):
    visit, form = posted
    values = {"holderEmail": form_text(form, "holderEmail", 300)}
    return act_on_account(
        request,
        visit,
        public_id,
        "holder",
        values,
        lambda session: accounts.add_holder(
            session, visit.principal, public_id, values["holderEmail"], now=now_of(request)
        ),
        _("%(email)s added as a holder.") % {"email": values["holderEmail"]},
        renames={"claims.email": "holderEmail", "email": "holderEmail"},
    )


@router.post("/accounts/{public_id}/holders/{holder_id}/remove")
def remove_holder(
    public_id: str,
    holder_id: str,
    request: Request,
    posted: Annotated[tuple[Visit, FormData], Depends(changing)],
):
    visit, _form = posted
    return act_on_account(
        request,
        visit,
        public_id,
        "holders",
        {},
        lambda session: accounts.remove_holder(
            session, visit.principal, public_id, holder_id, now=now_of(request)
        ),
        _("Holder removed."),
    )


@router.post("/accounts/{public_id}/close")
def close_account(
    public_id: str, request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]
):
    visit, _form = posted
    return act_on_account(
        request,
        visit,
        public_id,
        "close",
        {},
        lambda session: accounts.close_account(session, visit.principal, public_id, now=now_of(request)),
        _("Account %(id)s closed.") % {"id": public_id},
        after="/admin/accounts?status=Closed",
    )


@router.post("/accounts/{public_id}/overdue-override")
def set_overdue_override(
    public_id: str, request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]
):
    visit, form = posted
    values = {name: form_text(form, name, 1000) for name in ("until", "reason")}
    return act_on_account(
        request,
        visit,
        public_id,
        "override",
        values,
        lambda session: overdue_pages.set_override_form(
            session, visit.principal, public_id, form, now_of(request)
        ),
        _("Override set: the account may take new purchases despite the overdue policy."),
    )


@router.post("/accounts/{public_id}/overdue-override/revoke")
def revoke_overdue_override(
    public_id: str, request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]
):
    visit, _form = posted
    return act_on_account(
        request,
        visit,
        public_id,
        "override",
        {},
        lambda session: overdue_policy.revoke_override(
            session, visit.principal, public_id, now=now_of(request)
        ),
        _("Override revoked: the overdue policy applies to the account again."),
    )


@router.post("/accounts/{public_id}/trust-level")
def set_trust_level(
    public_id: str, request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]
):
    visit, form = posted
    # Longer than the service's limit, so that a reason too long is refused, not cut short.
    values = {"trustLevel": form_text(form, "trustLevel", 40), "reason": form_text(form, "reason", 1000)}
    return act_on_account(
        request,
        visit,
        public_id,
        "trust",
        values,
        lambda session: trust.set_trust_level(
            session,
            visit.principal,
            public_id,
            values["trustLevel"],
            values["reason"] or None,
            now=now_of(request),
        ),
        _("Trust level: %(level)s.") % {"level": values["trustLevel"].lower()},
    )
