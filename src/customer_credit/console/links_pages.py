"""My Credits links on the account page: create one (its URL is shown once, on the page that
answers the form) and revoke one. The rules (owner or holder only, lifetime, the store
switch) are my_credits.links'; a refusal is shown on the account page."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData

from customer_credit.clock import now_of
from customer_credit.console.accounts_pages import account_page, account_url, form_text, refusal_page
from customer_credit.console.session import Visit, changing
from customer_credit.console.web import Message, redirect
from customer_credit.errors import DomainError, field_error
from customer_credit.i18n import gettext as _
from customer_credit.my_credits import links

router = APIRouter(prefix="/admin", include_in_schema=False)


def _hours(form: FormData, default: int) -> timedelta:
    raw = form_text(form, "hours", 10) or str(default)
    if not raw.isdigit():
        raise field_error("hours", "must be a whole number of hours")
    return timedelta(hours=int(raw))


@router.post("/accounts/{public_id}/my-credits-links")
def create_link(
    public_id: str, request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]
):
    visit, form = posted
    values = {"hours": form_text(form, "hours", 10)}
    try:
        ttl = _hours(form, request.app.state.settings.my_credits_link_ttl_hours)
        with request.app.state.db.write() as session:
            issued = links.issue_link(
                session, visit.principal, public_id, form_text(form, "email", 300), ttl, now=now_of(request)
            )
            email, expires_at, url = issued.link.email, issued.expires_at, issued.url(str(request.base_url))
    except DomainError as error:
        return refusal_page(request, visit, public_id, error, form_name="link", values=values)
    return account_page(
        request,
        visit,
        public_id,
        messages=[
            Message(
                "ok",
                _("My Credits link for %(email)s created; it works until %(until)s. It is shown only now.")
                % {"email": email, "until": visit.presentation.moment(expires_at)},
            )
        ],
        link=url,
    )


@router.post("/accounts/{public_id}/my-credits-links/{link_id}/revoke")
def revoke_link(
    public_id: str,
    link_id: str,
    request: Request,
    posted: Annotated[tuple[Visit, FormData], Depends(changing)],
):
    visit, _form = posted
    try:
        with request.app.state.db.write() as session:
            email = links.revoke_link(session, visit.principal, public_id, link_id, now=now_of(request)).email
    except DomainError as error:
        return refusal_page(request, visit, public_id, error, form_name="links")
    return redirect(
        request,
        account_url(public_id),
        Message("ok", _("My Credits link for %(email)s revoked.") % {"email": email}),
    )
