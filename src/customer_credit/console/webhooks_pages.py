"""Webhooks in the console: the store's endpoints (create, delete), each endpoint's delivery log
(filtered by status, paged) and sending a delivery again (retry a failed one, resend a
delivered one). The rules are events.webhooks' (as for the API and the CLI). An endpoint's
signing secret is shown once, on the page the create form redirects to (console/shown_once.py),
never again."""

from math import ceil
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData

from customer_credit.clock import now_of
from customer_credit.console.accounts_pages import form_text, page_number
from customer_credit.console.home import page_context
from customer_credit.console.session import Visit, changing, signed_in
from customer_credit.console.shown_once import page_showing_once, redirect_showing_once, seal_for_page
from customer_credit.console.web import Message, details_of, error_message, redirect, render
from customer_credit.errors import DomainError, NotFound
from customer_credit.events import webhooks
from customer_credit.events.destinations import allow_list
from customer_credit.events.models import DELIVERY_STATUSES
from customer_credit.events.types import EVENT_TYPES
from customer_credit.i18n import gettext as _

router = APIRouter(prefix="/admin", include_in_schema=False)

DELIVERIES_PAGE = 25


def endpoint_url(public_id: str) -> str:
    return f"/admin/webhooks/{quote(public_id, safe='')}"


def _endpoints_page(
    request: Request,
    visit: Visit,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    messages=(),
    created=None,
    status_code: int = 200,
):
    with request.app.state.db.read() as session:
        rows = [
            (endpoint, webhooks.delivery_counts(session, endpoint))
            for endpoint in webhooks.list_endpoints(session, visit.store.id)
        ]
        return render(
            request,
            "webhooks.html",
            page_context(
                visit,
                "developers",
                _("Webhooks"),
                rows=rows,
                values=values or {"eventTypes": []},
                errors=errors or {},
                event_types=EVENT_TYPES,
                created=created,
                messages=list(messages),
            ),
            status_code=status_code,
        )


def refused(error: DomainError) -> tuple[dict, list[Message]]:
    """A refusal shown once: by its field when it names one, else at the top of the page."""
    errors = details_of(error)
    return errors, ([] if errors else [error_message(error)])


SHOWN_ONCE = "webhook-secret"


@router.get("/webhooks")
def endpoints(request: Request, visit: Annotated[Visit, Depends(signed_in)]):
    return page_showing_once(
        request,
        visit,
        SHOWN_ONCE,
        lambda shown, messages: _endpoints_page(request, visit, created=shown, messages=messages),
        _(
            "That signing secret was shown once and is not kept here. "
            "If it was not copied, delete the endpoint and create it again."
        ),
    )


@router.post("/webhooks")
def create_endpoint(request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]):
    visit, form = posted
    chosen = [name for name in form.getlist("eventTypes") if isinstance(name, str)][: len(EVENT_TYPES) + 1]
    values = {"url": form_text(form, "url", 2048), "description": form_text(form, "description", 500)}
    try:
        # A DNS lookup: before the transaction, as the API and the CLI do.
        checked = webhooks.check_url(values["url"], allow_list(request.app.state.settings))
        with request.app.state.db.write() as session:
            endpoint = webhooks.create_endpoint(
                session,
                visit.store.id,
                url=checked,
                event_types=chosen,
                description=values["description"] or None,
            )
            created = {"id": endpoint.public_id, "url": endpoint.url, "secret": endpoint.secret}
            sealed = seal_for_page(session, request, visit, SHOWN_ONCE, created)
    except DomainError as error:
        errors, messages = refused(error)
        return _endpoints_page(
            request,
            visit,
            values={**values, "eventTypes": chosen},
            errors=errors,
            messages=messages,
            status_code=error.status_code,
        )
    return redirect_showing_once(
        request,
        "/admin/webhooks",
        Message("ok", _("Webhook endpoint %(id)s created.") % {"id": created["id"]}),
        sealed,
    )


@router.post("/webhooks/{public_id}/delete")
def delete_endpoint(
    public_id: str, request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]
):
    visit, _form = posted
    try:
        with request.app.state.db.write() as session:
            webhooks.delete_endpoint(session, visit.store.id, public_id)
    except DomainError as error:
        return _endpoints_page(request, visit, messages=[error_message(error)], status_code=error.status_code)
    return redirect(
        request, "/admin/webhooks", Message("ok", _("Webhook endpoint %(id)s deleted.") % {"id": public_id})
    )


@router.get("/webhooks/{public_id}")
def deliveries(
    public_id: str,
    request: Request,
    visit: Annotated[Visit, Depends(signed_in)],
    status: str = "",
    page: str = "1",
):
    return _deliveries_page(request, visit, public_id, status=status, page=page)


def _deliveries_page(
    request: Request,
    visit: Visit,
    public_id: str,
    *,
    status: str = "",
    page: str = "1",
    messages=(),
    status_code: int = 200,
):
    status = status if status in DELIVERY_STATUSES else ""
    with request.app.state.db.read() as session:
        try:
            endpoint = webhooks.get_endpoint(session, visit.store.id, public_id)
        except NotFound as error:
            return render(
                request,
                "not_found.html",
                page_context(visit, "developers", "Not found", message=error.message),
                status_code=404,
            )
        counts = webhooks.delivery_counts(session, endpoint)
        total = counts.get(status, 0) if status else sum(counts.values())
        pages = max(1, ceil(total / DELIVERIES_PAGE))
        number = page_number(page, pages)
        rows = webhooks.deliveries(
            session,
            endpoint,
            status=status or None,
            limit=DELIVERIES_PAGE,
            offset=(number - 1) * DELIVERIES_PAGE,
        )
        return render(
            request,
            "webhook_deliveries.html",
            page_context(
                visit,
                "developers",
                _("Webhook deliveries"),
                endpoint=endpoint,
                counts=counts,
                rows=rows,
                total=total,
                page=number,
                pages=pages,
                filters={"status": status},
                statuses=DELIVERY_STATUSES,
                messages=list(messages),
            ),
            status_code=status_code,
        )


def _send_again(
    request: Request, visit: Visit, public_id: str, event_id: str, form: FormData, *, resend: bool
):
    action = webhooks.resend_delivery if resend else webhooks.retry_delivery
    # Back to the log as the operator was looking at it.
    status = form_text(form, "status", 20)
    back = endpoint_url(public_id) + (f"?status={quote(status)}" if status in DELIVERY_STATUSES else "")
    try:
        with request.app.state.db.write() as session:
            delivery = action(session, visit.store.id, public_id, event_id, now=now_of(request))
            state = delivery.status
    except DomainError as error:
        return _deliveries_page(
            request,
            visit,
            public_id,
            status=status,
            messages=[error_message(error)],
            status_code=error.status_code,
        )
    done = _("Delivery of %(event)s will be sent again (%(status)s).") % {"event": event_id, "status": state}
    return redirect(request, back, Message("ok", done))


@router.post("/webhooks/{public_id}/deliveries/{event_id}/retry")
def retry_delivery(
    public_id: str,
    event_id: str,
    request: Request,
    posted: Annotated[tuple[Visit, FormData], Depends(changing)],
):
    visit, form = posted
    return _send_again(request, visit, public_id, event_id, form, resend=False)


@router.post("/webhooks/{public_id}/deliveries/{event_id}/resend")
def resend_delivery(
    public_id: str,
    event_id: str,
    request: Request,
    posted: Annotated[tuple[Visit, FormData], Depends(changing)],
):
    visit, form = posted
    return _send_again(request, visit, public_id, event_id, form, resend=True)
