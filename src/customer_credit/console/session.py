"""Who is signed in to the console: the session cookie, CSRF tokens, and the role checks.

The session cookie is signed (itsdangerous), HttpOnly, SameSite=Lax, limited to /admin, and
Secure when the console is served over HTTPS. It carries a random token whose hash is stored
(users.OperatorSession), so signing out ends the session on the server. Every form carries a
CSRF token derived from the session token with HMAC; a form without the right token is
refused before anything runs."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.datastructures import FormData

from customer_credit import i18n
from customer_credit.auth.principal import Principal
from customer_credit.console.formatting import Presentation, presentation_of
from customer_credit.console.web import COOKIE_PATH, secure_cookies
from customer_credit.stores import service as stores
from customer_credit.stores.models import Store
from customer_credit.users import service as users
from customer_credit.users.models import Operator

SESSION_COOKIE = "cc_admin_session"
SIGNIN_COOKIE = "cc_admin_signin"
MAX_FORM_BYTES = 3 * 1024 * 1024


class ConsoleDenied(Exception):
    """Rendered as an HTML page (or a redirect to the sign-in page) by the console's handler."""

    def __init__(self, status_code: int, message: str, *, sign_in: bool = False):
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.sign_in = sign_in


@dataclass(frozen=True)
class Visit:
    """The signed-in operator of this request, their store and how it shows figures."""

    operator: Operator
    store: Store
    principal: Principal
    token: str
    presentation: Presentation

    @property
    def can_change(self) -> bool:
        return users.can_change(self.operator)

    @property
    def csrf(self) -> str:
        return csrf_token(self.store_secret, self.token)

    store_secret: str = ""


def _cookie_serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="customer-credit.console.session")


def csrf_token(secret: str, session_token: str) -> str:
    return hmac.new(secret.encode(), f"csrf:{session_token}".encode(), hashlib.sha256).hexdigest()


def session_cookie_value(secret: str, token: str) -> str:
    return _cookie_serializer(secret).dumps(token)


def set_session_cookie(request: Request, response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_cookie_value(request.app.state.secret_key, token),
        max_age=int(users.SESSION_TTL.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )


def clear_session_cookie(response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)


def _session_token(request: Request) -> str | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw or len(raw) > 512:
        return None
    try:
        token = _cookie_serializer(request.app.state.secret_key).loads(raw)
    except BadSignature:
        return None
    return token if isinstance(token, str) else None


def current_visit(request: Request) -> Visit | None:
    token = _session_token(request)
    if token is None:
        return None
    with request.app.state.db.read() as session:
        operator = users.session_operator(session, token)
        if operator is None:
            return None
        store = session.get(Store, operator.store_id)
        presentation = presentation_of(stores.get_config(session, operator.store_id))
        session.expunge_all()
    return Visit(
        operator=operator,
        store=store,
        principal=users.principal_for(operator),
        token=token,
        presentation=presentation,
        store_secret=request.app.state.secret_key,
    )


async def signed_in(request: Request) -> Visit:
    """A dependency for every console page: the visit, or a redirect to the sign-in page.
    Async so that the store's language, activated here, holds for the whole request."""
    visit = await run_in_threadpool(current_visit, request)
    if visit is None:
        raise ConsoleDenied(303, "sign in first", sign_in=True)
    i18n.activate(visit.presentation.locale)
    return visit


def sign_in_url(next_target: str | None = None) -> str:
    if not next_target or not safe_next(next_target):
        return "/admin/sign-in"
    return f"/admin/sign-in?next={quote(next_target, safe='')}"


def safe_next(target: str) -> bool:
    """Only console paths of this site: never another host (no open redirect)."""
    parts = urlsplit(target)
    return (
        not parts.scheme
        and not parts.netloc
        and target.startswith("/admin")
        and not target.startswith("//")
        and "\\" not in target
    )


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin == "null":
        return False
    return urlsplit(origin).netloc == request.url.netloc


async def read_form(request: Request) -> FormData:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES + 64 * 1024:
        raise ConsoleDenied(413, "The form is too large (a CSV file may have at most 2 MiB).")
    return await request.form(max_files=1, max_fields=200, max_part_size=MAX_FORM_BYTES)


async def changing(request: Request) -> tuple[Visit, FormData]:
    """A dependency for every form that changes something: a live session, the CSRF token of
    that session, the same origin, and the admin role."""
    visit = await run_in_threadpool(current_visit, request)
    if visit is None:
        raise ConsoleDenied(303, "sign in first", sign_in=True)
    form = await read_form(request)
    sent = form.get("csrf_token")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, visit.csrf) or not _same_origin(request):
        raise ConsoleDenied(
            403, "This form has expired or did not come from this console. Reload the page and try again."
        )
    i18n.activate(visit.presentation.locale)
    if not visit.can_change:
        raise ConsoleDenied(403, f"Your role ({visit.operator.role}) can read but not change anything.")
    return visit, form


async def signing_out(request: Request) -> Visit | None:
    """Sign-out needs the session's CSRF token too (so no other site can sign you out)."""
    visit = await run_in_threadpool(current_visit, request)
    if visit is None:
        return None
    form = await read_form(request)
    sent = form.get("csrf_token")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, visit.csrf):
        raise ConsoleDenied(403, "This form has expired. Reload the page and try again.")
    return visit


# The sign-in form has no session yet: a double-submit token (a random cookie, and its HMAC
# in the form) keeps other sites from signing a browser in to an account of theirs.
def signin_nonce(request: Request) -> tuple[str, bool]:
    nonce = request.cookies.get(SIGNIN_COOKIE)
    if nonce and 20 <= len(nonce) <= 100:
        return nonce, False
    return secrets.token_urlsafe(24), True


def signin_token(secret: str, nonce: str) -> str:
    return hmac.new(secret.encode(), f"signin:{nonce}".encode(), hashlib.sha256).hexdigest()


def set_signin_cookie(request: Request, response, nonce: str) -> None:
    response.set_cookie(
        SIGNIN_COOKIE,
        nonce,
        max_age=3600,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )


def signin_token_ok(request: Request, sent: object) -> bool:
    nonce = request.cookies.get(SIGNIN_COOKIE)
    if not nonce or not isinstance(sent, str):
        return False
    return hmac.compare_digest(sent, signin_token(request.app.state.secret_key, nonce)) and _same_origin(
        request
    )
