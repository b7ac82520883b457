"""API keys in the console: the store's keys (app key, label, resources, created, revoked), a
new key and revoking one. The rules are auth.service's, as for the CLI. Only the token's hash is
stored: the token is shown once, on the page the create form redirects to (console/shown_once.py),
and no page can show it again."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData

from customer_credit.auth import service as keys
from customer_credit.auth.resources import ALL_RESOURCES
from customer_credit.console.accounts_pages import form_text
from customer_credit.console.home import page_context
from customer_credit.console.session import Visit, changing, signed_in
from customer_credit.console.shown_once import page_showing_once, redirect_showing_once, seal_for_page
from customer_credit.console.web import Message, error_message, redirect, render
from customer_credit.errors import DomainError, field_error
from customer_credit.i18n import gettext as _
from customer_credit.stores.models import Store

router = APIRouter(prefix="/admin", include_in_schema=False)

LABEL_MAX = 200
SHOWN_ONCE = "api-key"


def _keys_page(
    request: Request,
    visit: Visit,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    messages=(),
    issued: dict[str, str] | None = None,
    status_code: int = 200,
):
    with request.app.state.db.read() as session:
        found = keys.list_keys(session, session.get(Store, visit.store.id))
        return render(
            request,
            "api_keys.html",
            page_context(
                visit,
                "developers",
                _("API keys"),
                keys=found,
                values=values or {"resources": []},
                errors=errors or {},
                all_resources=ALL_RESOURCES,
                issued=issued,
                messages=list(messages),
            ),
            status_code=status_code,
        )


@router.get("/api-keys")
def api_keys(request: Request, visit: Annotated[Visit, Depends(signed_in)]):
    return page_showing_once(
        request,
        visit,
        SHOWN_ONCE,
        lambda shown, messages: _keys_page(request, visit, issued=shown, messages=messages),
        _(
            "That token was shown once and is not kept. "
            "If it was not copied, revoke the key and create a new one."
        ),
    )


@router.post("/api-keys")
def create_api_key(request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]):
    visit, form = posted
    chosen = [name for name in form.getlist("resources") if isinstance(name, str)][: len(ALL_RESOURCES) + 1]
    label = form_text(form, "label", 1000)
    values = {"label": label, "resources": chosen}
    try:
        if len(label) > LABEL_MAX:  # the column's size: a clear refusal, not a database error
            raise field_error("label", f"must be at most {LABEL_MAX} characters")
        if not chosen:
            raise field_error("resources", "tick at least one")
        with request.app.state.db.write() as session:
            issued = keys.create_key(session, session.get(Store, visit.store.id), chosen, label)
            sealed = seal_for_page(
                session,
                request,
                visit,
                SHOWN_ONCE,
                {"app_key": issued.app_key, "app_token": issued.app_token},
            )
    except DomainError as error:
        field = "resources" if not error.details and "resources" in error.message else None
        errors = (
            {field: error.message}
            if field
            else {
                str(detail["field"]): str(detail["message"])
                for detail in error.details
                if isinstance(detail, dict) and "field" in detail
            }
        )
        return _keys_page(
            request,
            visit,
            values=values,
            errors=errors,
            messages=[] if errors else [error_message(error)],
            status_code=error.status_code,
        )
    return redirect_showing_once(
        request,
        "/admin/api-keys",
        Message("ok", _("API key %(key)s created.") % {"key": issued.app_key}),
        sealed,
    )


@router.post("/api-keys/{app_key}/revoke")
def revoke_api_key(
    app_key: str, request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]
):
    visit, _form = posted
    try:
        with request.app.state.db.write() as session:
            keys.revoke_key(session, app_key, store_id=visit.store.id)
    except DomainError as error:
        return _keys_page(request, visit, messages=[error_message(error)], status_code=error.status_code)
    return redirect(
        request, "/admin/api-keys", Message("ok", _("API key %(key)s revoked.") % {"key": app_key})
    )
