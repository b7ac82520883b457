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

from customer_credit.auth import service as auth_service
from customer_credit.auth.principal import Principal
from customer_credit.clock import now_of
from customer_credit.console.formatting import presentation_of
from customer_credit.console.web import SECURITY_HEADERS, make_environment, render, secure_cookies
from customer_credit.dates import store_zone
from customer_credit.documents import service as documents
from customer_credit.documents.routes import pdf_response
from customer_credit.errors import DomainError, Unauthorized
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


def _problem(request: Request, status_code: int, title: str, message: str):
    return _page(request, "problem.html", {"title": title, "message": message}, status_code)


def _refused(request: Request, error: DomainError, title: str):
    """A link or token that does not (or no longer) open the page: 401, or 410 when revoked."""
    if isinstance(error, links.LinkRevoked):
        title = "Link withdrawn"
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
        return _refused(request, error, "Link not valid")
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
            response = _refused(request, error, "My Credits")
            response.delete_cookie(COOKIE, path=COOKIE_PATH)
            return response
        view = customer_view(
            session, customer.store_id, customer.email, now=now_of(request), account_id=customer.account_id
        )
        if not view.config.my_credits_enabled:
            return _problem(request, 403, "My Credits", "My Credits is not available for this store.")
        link_token = request.cookies.get(COOKIE)
        return _page(
            request,
            "my_credits.html",
            {
                "title": "My Credits",
                "customer": customer,
                "view": view,
                "p": presentation_of(view.config),
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
            return _refused(request, error, "My Credits")
        view = customer_view(
            session, customer.store_id, customer.email, now=now, account_id=customer.account_id
        )
        if not view.config.my_credits_enabled:
            return _problem(request, 403, "My Credits", "My Credits is not available for this store.")
        if not any(item.account.public_id == account_id for item in view.accounts):
            return _problem(request, 404, "Not found", "There is no such account among yours.")
        principal = Principal(store_id=customer.store_id, name=customer.email, resources=frozenset())
        try:
            download = read(session, principal, now)
        except DomainError as error:
            return _problem(request, error.status_code, "My Credits", error.message.capitalize() + ".")
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
        return _problem(request, 413, "My Credits", "This request is too large.")
    form = await request.form(max_files=0, max_fields=5)
    token = request.cookies.get(COOKIE)
    sent = form.get("token")
    response = _problem(
        request, 200, "Signed out", "You left My Credits. Open the store's link to come back."
    )
    if (
        token
        and isinstance(sent, str)
        and hmac.compare_digest(sent, sign_out_token(request.app.state.secret_key, token))
    ):
        response.delete_cookie(COOKIE, path=COOKIE_PATH)
        return response
    return _problem(request, 403, "My Credits", "This form has expired; reload the page.")


def mount_my_credits(app: FastAPI) -> None:
    app.mount(
        "/my-credits/static",
        StaticFiles(directory=Path(__file__).parent / "static"),
        name="my-credits-static",
    )
    app.include_router(pages)
    app.include_router(api)
