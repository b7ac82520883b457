"""Invoices: the search form (every filter of the API, plus "Expired"), its summary and pages,
the invoice page and its actions (pay, cancel, postpone, edit, reverse a payment)."""

from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial
from math import ceil
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData, QueryParams

from customer_credit.accounts.models import Account
from customer_credit.clock import now_of
from customer_credit.console import numbers
from customer_credit.console.accounts_pages import account_url, amount_field, form_text, page_number
from customer_credit.console.formatting import Presentation
from customer_credit.console.home import page_context
from customer_credit.console.search import EXPIRED, display_status, invoice_sort
from customer_credit.console.session import Visit, changing, signed_in
from customer_credit.console.web import Message, details_of, error_message, redirect, refusal, render
from customer_credit.credit_control import adjustments, balance
from customer_credit.errors import DomainError, NotFound, field_error, integrity_errors_as_conflicts
from customer_credit.i18n import N_, ngettext
from customer_credit.i18n import gettext as _
from customer_credit.invoices import payments as invoice_payments
from customer_credit.invoices import search as invoice_search
from customer_credit.invoices import service as invoices
from customer_credit.invoices.models import CANCELLED, OPENED, PAID, Invoice
from customer_credit.invoices.overdue_days import Lateness
from customer_credit.invoices.queries import InvoiceFilters
from customer_credit.invoices.search import parse_filters as api_filters
from customer_credit.money import MoneyError, from_cents
from customer_credit.paging import Window
from customer_credit.stores import service as stores

router = APIRouter(prefix="/admin", include_in_schema=False)

STATUS_CHOICES = (OPENED, EXPIRED, PAID, CANCELLED)
FILTER_NAMES = (
    "status",
    "createdDateFrom",
    "createdDateTo",
    "dueDateFrom",
    "dueDateTo",
    "value",
    "friendlyId",
    "observation",
    "creditAccountId",
    "op",
)
PAGE_SIZES = (20, 50, 100)


def _local_bound(presentation: Presentation, field: str, raw: str, *, upper: bool) -> str | None:
    """A date typed in the console is a day in the store's time zone; the API reads a bare
    date as a UTC day, so the console sends that day's first (or last) moment with its offset."""
    raw = raw.strip()
    if not raw:
        return None
    if len(raw) != 10:
        return raw
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise field_error(field, "must be a date (YYYY-MM-DD)") from None
    if day in (date.min, date.max):
        return raw
    moment = presentation.day_end(day) if upper else presentation.day_start(day)
    return moment.isoformat()


def _typed_value(presentation: Presentation, raw: str) -> str | None:
    """The value filter as typed in the store's locale (25,000.00, R$ 22.500,00), in plain digits."""
    if not raw:
        return None
    try:
        return str(numbers.parse_amount(raw, presentation.locale, label=_("Value")))
    except MoneyError as error:
        raise field_error("value", str(error)) from None


def parse_filters(
    params: QueryParams | dict, presentation: Presentation, *, now: datetime
) -> tuple[InvoiceFilters, dict]:
    """The search form's values as the API's filters (the same parsing and the same errors);
    "Expired" is the overdue filter at `now`."""
    values = {name: str(params.get(name) or "").strip()[:1000] for name in FILTER_NAMES}
    status = values["status"]
    if status and status not in STATUS_CHOICES:
        raise field_error("status", f"must be one of {', '.join(STATUS_CHOICES)}")
    filters = api_filters(
        _local_bound(presentation, "createdDateFrom", values["createdDateFrom"], upper=False),
        _local_bound(presentation, "createdDateTo", values["createdDateTo"], upper=True),
        _local_bound(presentation, "dueDateFrom", values["dueDateFrom"], upper=False),
        _local_bound(presentation, "dueDateTo", values["dueDateTo"], upper=True),
        _typed_value(presentation, values["value"]),
        None if status == EXPIRED else (status or None),
        values["friendlyId"] or None,
        values["observation"] or None,
        values["creditAccountId"] or None,
        values["op"] or None,
        overdue_at=now if status == EXPIRED else None,
    )
    return filters, values


def invoice_url(account_id: str, invoice_id: str) -> str:
    return f"{account_url(account_id)}/invoices/{quote(invoice_id, safe='')}"


@router.get("/invoices")
def invoices_search(request: Request, visit: Annotated[Visit, Depends(signed_in)]):
    params = request.query_params
    try:
        size = int(params.get("size") or PAGE_SIZES[0])
    except ValueError:
        size = PAGE_SIZES[0]
    size = size if size in PAGE_SIZES else PAGE_SIZES[0]
    sort = invoice_sort(params.get("sort"), open_only=str(params.get("status") or "") in (OPENED, EXPIRED))
    context = page_context(
        visit,
        "invoices",
        "Invoices",
        statuses=STATUS_CHOICES,
        sizes=PAGE_SIZES,
        size=size,
        values={name: str(params.get(name) or "") for name in FILTER_NAMES},
        errors={},
        rows=[],
        summary=None,
        page=1,
        pages=1,
        display_status=display_status,
        invoice_url=invoice_url,
        sort=sort,
    )
    try:
        filters, values = parse_filters(params, visit.presentation, now=now_of(request))
    except DomainError as error:
        context.update(errors=details_of(error), messages=[error_message(error)])
        return render(request, "invoices.html", context, status_code=400)
    with request.app.state.db.read(replica=True) as session:
        now = now_of(request)
        lateness = Lateness.of_store(stores.get_config(session, visit.store.id), now)
        number = page_number(params.get("page"))
        found = invoice_search.search_invoices(
            session, visit.principal, filters, Window((number - 1) * size, size), order=sort.order
        )
        pages = max(1, ceil(found.summary["count"] / size))
        if number > pages:  # past the last page: show the last one
            number = pages
            found = invoice_search.search_invoices(
                session, visit.principal, filters, Window((number - 1) * size, size), order=sort.order
            )
        rows = [
            (invoice, account_id, lateness.of(invoice), display_status(invoice, now))
            for invoice, account_id in found.rows
        ]
        context.update(
            rows=rows,
            summary=found.summary,
            page=number,
            pages=pages,
            values=values,
            searched=any(values.values()),
        )
        return render(request, "invoices.html", context)


def postponement_rules(config, invoice: Invoice) -> dict:
    """What the store's rules still allow for this invoice (the service enforces them)."""
    enabled = config.postponement_enabled and config.invoice_postponement_limit > 0
    latest = invoice.original_due_at + timedelta(days=config.max_postponement_days)
    days_left = max(0, (latest - invoice.due_at).days)
    return {
        "enabled": enabled,
        "limit": config.invoice_postponement_limit,
        "used": invoice.postponement_count,
        "max_days": config.max_postponement_days,
        "latest": latest,
        "days_left": days_left
        if enabled and invoice.postponement_count < config.invoice_postponement_limit
        else 0,
    }


def invoice_page(
    request: Request,
    visit: Visit,
    account_id: str,
    invoice_id: str,
    *,
    messages=(),
    status_code: int = 200,
    errors: dict | None = None,
    values: dict | None = None,
):
    with request.app.state.db.read() as session:
        try:
            invoice = invoices.get_invoice(session, visit.principal, account_id, invoice_id)
        except NotFound as error:
            return render(
                request,
                "not_found.html",
                page_context(visit, "invoices", "Not found", message=error.message),
                status_code=404,
            )
        config = stores.get_config(session, visit.store.id)
        now = now_of(request)
        late = Lateness.of_store(config, now).of(invoice)
        documents, _count = adjustments.list_adjustments(session, visit.store.id, invoice_pk=invoice.id)
        owner = session.get_one(Account, invoice.account_id)
        unapplied = balance.unapplied_cents(session, owner) if invoice.status == OPENED else 0
        timeline = invoice_payments.payments_of(session, invoice)
        return render(
            request,
            "invoice.html",
            page_context(
                visit,
                "invoices",
                f"Invoice {invoice.friendly_id}",
                invoice=invoice,
                account_id=account_id,
                late=late,
                status=display_status(invoice, now),
                rules=postponement_rules(config, invoice),
                postpone_refusal=invoices.postponement_refusal(config, invoice),
                cancel_refusal=invoices.cancel_refusal(invoice),
                owed_cents=invoice.value_cents - invoice.paid_cents,
                documents=[document for document, _invoice, _owner in documents],
                document_labels={kind: spec.label for kind, spec in adjustments.KINDS.items()},
                unapplied_cents=max(unapplied, 0),
                apply_default=str(
                    from_cents(max(0, min(unapplied, invoice.value_cents - invoice.paid_cents)))
                ),
                errors=errors or {},
                values=values or {},
                messages=list(messages),
                url=invoice_url(account_id, invoice_id),
                account_link=account_url(account_id),
                config=config,
                payments=timeline,
                timeline_cents=sum(payment.amount_cents for payment in timeline),
                today=invoice_payments.store_today(config, now).isoformat(),
            ),
            status_code=status_code,
        )


@router.get("/accounts/{account_id}/invoices/{invoice_id}")
def invoice_view(
    account_id: str, invoice_id: str, request: Request, visit: Annotated[Visit, Depends(signed_in)]
):
    return invoice_page(request, visit, account_id, invoice_id)


def act_on_invoice(
    request: Request,
    visit: Visit,
    account_id: str,
    invoice_id: str,
    values: dict,
    work: Callable,
    done: str | Callable[[], str],
):
    """Runs `work(session)` in one write transaction; on a refusal the invoice page again with
    the error by its field, else a redirect with `done` (or what it returns, after the work)."""
    try:
        with integrity_errors_as_conflicts(), request.app.state.db.write() as session:
            work(session)
    except DomainError as error:
        errors, messages = refusal(error)
        return invoice_page(
            request,
            visit,
            account_id,
            invoice_id,
            messages=messages,
            status_code=error.status_code,
            errors=errors,
            values=values,
        )
    return redirect(
        request,
        invoice_url(account_id, invoice_id),
        Message("ok", _(done) if isinstance(done, str) else done()),
    )


Posted = Annotated[tuple[Visit, FormData], Depends(changing)]


def _paid_on_field(raw: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise field_error("paidOn", "must be a date (YYYY-MM-DD)") from None


@router.post("/accounts/{account_id}/invoices/{invoice_id}/pay")
def pay(account_id: str, invoice_id: str, request: Request, posted: Posted):
    visit, form = posted
    values = {
        "value": form_text(form, "value", 40),
        "paidOn": form_text(form, "paidOn", 40),
        "payReference": form_text(form, "payReference", 300),
    }

    def work(session):
        try:
            invoices.pay_invoice(
                session,
                visit.principal,
                account_id,
                invoice_id,
                value=amount_field(form, "value", required=False, locale=visit.presentation.locale),
                now=now_of(request),
                paid_on=_paid_on_field(values["paidOn"]),
                reference=values["payReference"] or None,
                method=invoice_payments.CONSOLE,
            )
        except DomainError as error:
            # The service says `reference`; on this page that is the credit note form's field.
            refused = details_of(error).get("reference")
            if refused is not None:
                raise field_error("payReference", refused) from None
            raise

    done = N_("Payment recorded.") if values["value"] else N_("Invoice marked as paid.")
    return act_on_invoice(request, visit, account_id, invoice_id, values, work, done)


@router.post("/accounts/{account_id}/invoices/{invoice_id}/cancel")
def cancel(account_id: str, invoice_id: str, request: Request, posted: Posted):
    return _act_without_fields(
        request,
        posted,
        account_id,
        invoice_id,
        partial(invoices.cancel_invoice, now=now_of(request)),
        N_("Invoice cancelled."),
    )


@router.post("/accounts/{account_id}/invoices/{invoice_id}/reopen")
def reopen(account_id: str, invoice_id: str, request: Request, posted: Posted):
    return _act_without_fields(
        request,
        posted,
        account_id,
        invoice_id,
        partial(invoices.change_invoice, status=OPENED, method=invoice_payments.CONSOLE, now=now_of(request)),
        N_("Payment reversed: the invoice is open again."),
    )


def _act_without_fields(
    request: Request,
    posted: tuple[Visit, FormData],
    account_id: str,
    invoice_id: str,
    change: Callable,
    done: str,
):
    """An action whose form is its button alone: change(session, principal, account_id, invoice_id)."""
    visit, _form = posted
    return act_on_invoice(
        request,
        visit,
        account_id,
        invoice_id,
        {},
        lambda session: change(session, visit.principal, account_id, invoice_id),
        done,
    )


@router.post("/accounts/{account_id}/invoices/{invoice_id}/postpone")
def postpone(account_id: str, invoice_id: str, request: Request, posted: Posted):
    visit, form = posted
    values = {"dueDays": form_text(form, "dueDays", 10)}

    def work(session):
        try:
            due_days = int(values["dueDays"])
        except ValueError:
            raise field_error("dueDays", "must be a whole number of days") from None
        invoices.postpone_invoice(session, visit.principal, account_id, invoice_id, due_days=due_days)

    def done() -> str:
        days = int(values["dueDays"])
        return ngettext("Invoice postponed by %(num)s day.", "Invoice postponed by %(num)s days.", days) % {
            "num": days
        }

    return act_on_invoice(request, visit, account_id, invoice_id, values, work, done)


@router.post("/accounts/{account_id}/invoices/{invoice_id}/edit")
def edit(account_id: str, invoice_id: str, request: Request, posted: Posted):
    visit, form = posted
    raw_observation = form.get("observation")
    observation = raw_observation.replace("\r\n", "\n") if isinstance(raw_observation, str) else ""
    values = {"observation": observation, "paymentLink": form_text(form, "paymentLink", 3000)}

    def work(session):
        current = invoices.get_invoice(session, visit.principal, account_id, invoice_id)
        invoices.change_invoice(
            session,
            visit.principal,
            account_id,
            invoice_id,
            status=current.status,
            observation=values["observation"] or None,
            payment_link=values["paymentLink"] or None,
        )

    return act_on_invoice(request, visit, account_id, invoice_id, values, work, N_("Invoice details saved."))
