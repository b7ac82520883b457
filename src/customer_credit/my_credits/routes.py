""" "My Credits": the customer's page, reached with a stored, revocable link or a
VtexIdclientAutCookie user token. The API extension that manages links is api_routes.py."""

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from customer_credit import i18n
from customer_credit.auth import service as auth_service
from customer_credit.auth.principal import Principal
from customer_credit.clock import now_of
from customer_credit.console.formatting import Presentation, presentation_of
from customer_credit.console.web import SECURITY_HEADERS, make_environment, render, secure_cookies
from customer_credit.dates import store_zone
from customer_credit.documents import service as documents
from customer_credit.documents.routes import pdf_response
from customer_credit.errors import DomainError, Unauthorized
from customer_credit.i18n import N_
from customer_credit.i18n import gettext as _
from customer_credit.invoices.models import OPENED, PAID
from customer_credit.my_credits import links
from customer_credit.my_credits.api_routes import api
from customer_credit.my_credits.service import customer_view
from customer_credit.stores import service as stores
from customer_credit.validation import normalize_email

TEMPLATES = Path(__file__).parent / "templates"
COOKIE = "cc_my_credits"
COOKIE_PATH = "/my-credits"
environment = make_environment(TEMPLATES)
HEADERS = {**SECURITY_HEADERS, "Referrer-Policy": "no-referrer"}

pages = APIRouter(prefix="/my-credits", include_in_schema=False)


def _page(request: Request, template: str, context: dict, status_code: int = 200):
    return render(request, template, context, status_code=status_code, env=environment, headers=HEADERS)


def _problem(request: Request, status_code: int, title: str, message: str, p: Presentation | None = None):
    """A page that says what went wrong. `title` and `message` are msgids (N_), shown in the
    store's language and under its name when the store is known (`p`); a message of the
    service layer is English and stays so (no catalog has it)."""
    with i18n.activated(p.locale if p else None):
        context = {"title": _(title), "message": _(message), "p": p}
    return _page(request, "problem.html", context, status_code)


def _presentation_of_link(request: Request) -> Presentation | None:
    """The store of the link in the cookie, for the pages that show no account (signing out);
    None when there is no live link."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    with request.app.state.db.read() as session:
        try:
            customer = links.read_link(session, token, now=now_of(request))
        except (Unauthorized, links.LinkRevoked):
            return None
        return presentation_of(stores.get_config(session, customer.store_id))


def _refused(request: Request, error: DomainError, title: str):
    """A link or token that does not (or no longer) open the page: 401, or 410 when revoked."""
    if isinstance(error, links.LinkRevoked):
        title = N_("Link withdrawn")
    return _problem(request, error.status_code, title, error.message.capitalize() + ".")


@pages.get("/enter", name="my_credits_enter")
def enter(request: Request, token: str = ""):
    """Checks the link, keeps it in a cookie for this path only, and moves the browser to a
    URL without the token (so it stays out of history and of Referer headers)."""
    now = now_of(request)
    try:
        with request.app.state.db.read() as session:
            customer = links.read_link(session, token, now=now)
    except (Unauthorized, links.LinkRevoked) as error:
        return _refused(request, error, N_("Link not valid"))
    response = RedirectResponse("/my-credits", status_code=303, headers=HEADERS)
    # The cookie outlives the link by a day so that a late visit hears "expired" (the token
    # inside is checked on every request) rather than "open the link".
    max_age = max(1, int((customer.expires_at - now).total_seconds())) + 86400
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )
    return response


def _customer(request: Request, session: Session) -> links.Customer:
    """Who this request is for; the link in the cookie is looked up again on every request, so
    a revoked link stops working at once."""
    secret = request.app.state.secret_key
    token = request.cookies.get(COOKIE)
    if token:
        return links.read_link(session, token, now=now_of(request))
    user_token = request.headers.get("vtexidclientautcookie") or request.cookies.get("VtexIdclientAutCookie")
    if user_token:
        principal = auth_service.authenticate_user_token(secret, user_token)
        return links.Customer(
            store_id=principal.store_id, email=normalize_email(principal.name), expires_at=None
        )
    raise Unauthorized("open the link the store sent you", code="MissingCredentials")


def sign_out_token(secret: str, token: str) -> str:
    return hmac.new(secret.encode(), f"my-credits-sign-out:{token}".encode(), hashlib.sha256).hexdigest()


@pages.get("")
def my_credits(request: Request):
    with request.app.state.db.read() as session:
        try:
            customer = _customer(request, session)
        except (Unauthorized, links.LinkRevoked) as error:
            response = _refused(request, error, N_("My Credits"))
            response.delete_cookie(COOKIE, path=COOKIE_PATH)
            return response
        view = customer_view(
            session, customer.store_id, customer.email, now=now_of(request), account_id=customer.account_id
        )
        p = presentation_of(view.config)
        if not view.config.my_credits_enabled:
            return _problem(
                request, 403, N_("My Credits"), N_("My Credits is not available for this store."), p
            )
        link_token = request.cookies.get(COOKIE)
        with i18n.activated(p.locale):
            title = _("My Credits")
        return _page(
            request,
            "my_credits.html",
            {
                "title": title,
                "customer": customer,
                "view": view,
                "p": p,
                "sign_out": sign_out_token(request.app.state.secret_key, link_token) if link_token else None,
                "statement_period": documents.default_period(store_zone(view.config), now_of(request)),
            },
        )


def _download(
    request: Request, account_id: str, read: Callable[[Session, Principal, datetime], documents.Download]
):
    """A document of one of the customer's accounts: the accounts the My Credits page shows them
    (customer_view: owner or holder, open, only the link's account with a link), nothing else."""
    now = now_of(request)
    with request.app.state.db.read() as session:
        try:
            customer = _customer(request, session)
        except (Unauthorized, links.LinkRevoked) as error:
            return _refused(request, error, N_("My Credits"))
        view = customer_view(
            session, customer.store_id, customer.email, now=now, account_id=customer.account_id
        )
        p = presentation_of(view.config)
        if not view.config.my_credits_enabled:
            return _problem(
                request, 403, N_("My Credits"), N_("My Credits is not available for this store."), p
            )
        if not any(item.account.public_id == account_id for item in view.accounts):
            return _problem(request, 404, N_("Not found"), N_("There is no such account among yours."), p)
        principal = Principal(store_id=customer.store_id, name=customer.email, resources=frozenset())
        try:
            download = read(session, principal, now)
        except DomainError as error:
            return _problem(request, error.status_code, N_("My Credits"), error.message.capitalize() + ".", p)
    return pdf_response(download, HEADERS)


@pages.get("/accounts/{account_id}/invoices/{invoice_id}/pdf")
def invoice_pdf(account_id: str, invoice_id: str, request: Request):
    def read(session: Session, principal: Principal, now: datetime) -> documents.Download:
        # The page lists open and paid invoices only.
        return documents.invoice_download(
            session, principal, account_id, invoice_id, now=now, statuses=(OPENED, PAID)
        )

    return _download(request, account_id, read)


@pages.get("/accounts/{account_id}/statement.pdf")
def statement_pdf(account_id: str, request: Request):
    params = request.query_params

    def read(session: Session, principal: Principal, now: datetime) -> documents.Download:
        zone = store_zone(stores.get_config(session, principal.store_id))
        since, until = documents.local_window(
            zone, str(params.get("from") or ""), str(params.get("to") or "")
        )
        return documents.statement_download(session, principal, account_id, since=since, until=until, now=now)

    return _download(request, account_id, read)


@pages.post("/sign-out")
async def sign_out(request: Request):
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > 4096:
        return _problem(request, 413, N_("My Credits"), N_("This request is too large."))
    form = await request.form(max_files=0, max_fields=5)
    token = request.cookies.get(COOKIE)
    sent = form.get("token")
    # The link is read from the database: off the event loop, as the sync pages are.
    p = await run_in_threadpool(_presentation_of_link, request)
    response = _problem(
        request, 200, N_("Signed out"), N_("You left My Credits. Open the store's link to come back."), p
    )
    if (
        token
        and isinstance(sent, str)
        and hmac.compare_digest(sent, sign_out_token(request.app.state.secret_key, token))
    ):
        response.delete_cookie(COOKIE, path=COOKIE_PATH)
        return response
    return _problem(request, 403, N_("My Credits"), N_("This form has expired; reload the page."), p)


def mount_my_credits(app: FastAPI) -> None:
    app.mount(
        "/my-credits/static",
        StaticFiles(directory=Path(__file__).parent / "static"),
        name="my-credits-static",
    )
    app.include_router(pages)
    app.include_router(api)
