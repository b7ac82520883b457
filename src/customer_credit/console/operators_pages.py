"""The store's console operators: the list (e-mail, role, created, disabled), a new operator,
a role change, disabling and enabling one. The rules are users.service's, as for the CLI; the
console also keeps the store from being left without an enabled admin. A generated password is
shown once, on the page the create form redirects to (console/shown_once.py)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData

from customer_credit.console.accounts_pages import form_text
from customer_credit.console.home import page_context
from customer_credit.console.session import Visit, changing, signed_in
from customer_credit.console.shown_once import page_showing_once, redirect_showing_once, seal_for_page
from customer_credit.console.web import Message, details_of, error_message, redirect, render
from customer_credit.errors import DomainError
from customer_credit.i18n import gettext as _
from customer_credit.stores.models import Store
from customer_credit.users import service as users
from customer_credit.users.models import ROLES

router = APIRouter(prefix="/admin", include_in_schema=False)


def _operators_page(
    request: Request,
    visit: Visit,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    messages=(),
    created: dict | None = None,
    status_code: int = 200,
):
    with request.app.state.db.read() as session:
        operators = users.list_operators(session, session.get(Store, visit.store.id))
        return render(
            request,
            "operators.html",
            page_context(
                visit,
                "team",
                _("Operators"),
                operators=operators,
                roles=ROLES,
                values=values or {"role": ROLES[1]},
                errors=errors or {},
                created=created,
                messages=list(messages),
            ),
            status_code=status_code,
        )


SHOWN_ONCE = "operator-password"


@router.get("/operators")
def operators(request: Request, visit: Annotated[Visit, Depends(signed_in)]):
    return page_showing_once(
        request,
        visit,
        SHOWN_ONCE,
        lambda shown, messages: _operators_page(request, visit, created=shown, messages=messages),
        _(
            "That password was shown once and is not kept. "
            "If it was not copied, set a new one with customer-credit users set-password."
        ),
    )


@router.post("/operators")
def create_operator(request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]):
    visit, form = posted
    values = {"email": form_text(form, "email", 300), "role": form_text(form, "role", 20)}
    typed = form.get("password")
    password = typed if isinstance(typed, str) and typed else ""
    generated = not password
    if generated:
        password = users.generate_password()
    try:
        with request.app.state.db.write() as session:
            operator = users.create_operator(
                session, session.get(Store, visit.store.id), values["email"], values["role"], password
            )
            email = operator.email
            # A typed password is never shown back; a generated one is sealed with the operator.
            sealed = (
                seal_for_page(session, request, visit, SHOWN_ONCE, {"email": email, "password": password})
                if generated
                else None
            )
    except DomainError as error:
        errors = details_of(error)
        return _operators_page(
            request,
            visit,
            values=values,
            errors=errors,
            messages=[] if errors else [error_message(error)],
            status_code=error.status_code,
        )
    done = Message("ok", _("Operator %(email)s created.") % {"email": email})
    if sealed is None:
        return redirect(request, "/admin/operators", done)
    return redirect_showing_once(request, "/admin/operators", done, sealed)


def _change(request: Request, visit: Visit, work, done: str):
    try:
        with request.app.state.db.write() as session:
            work(session, session.get(Store, visit.store.id))
    except DomainError as error:
        return _operators_page(request, visit, messages=[error_message(error)], status_code=error.status_code)
    return redirect(request, "/admin/operators", Message("ok", done))


@router.post("/operators/role")
def change_role(request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]):
    visit, form = posted
    email, role = form_text(form, "email", 300), form_text(form, "role", 20)
    return _change(
        request,
        visit,
        lambda session, store: users.set_role(session, store, email, role),
        _("%(email)s is now %(role)s.") % {"email": email, "role": role},
    )


@router.post("/operators/disable")
def disable_operator(request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]):
    visit, form = posted
    email = form_text(form, "email", 300)
    return _change(
        request,
        visit,
        lambda session, store: users.set_disabled(session, store, email, True, keep_an_admin=True),
        _("%(email)s disabled; their sessions have ended.") % {"email": email},
    )


@router.post("/operators/enable")
def enable_operator(request: Request, posted: Annotated[tuple[Visit, FormData], Depends(changing)]):
    visit, form = posted
    email = form_text(form, "email", 300)
    return _change(
        request,
        visit,
        lambda session, store: users.set_disabled(session, store, email, False),
        _("%(email)s enabled.") % {"email": email},
    )
