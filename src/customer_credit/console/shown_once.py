"""Post/redirect/get for the forms that create a secret (users/reveals.py): the POST seals the
secret, puts the pad in a short-lived signed cookie and redirects; the GET it lands on reads the
secret once and drops the cookie. A reload of that page, or the back button, finds nothing and
says so, instead of posting the form again and creating a second key."""

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from customer_credit.clock import now_of
from customer_credit.console.session import Visit
from customer_credit.console.web import COOKIE_PATH, Message, redirect, secure_cookies
from customer_credit.users import reveals

REVEAL_COOKIE = "cc_admin_reveal"


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.secret_key, salt="customer-credit.console.reveal")


def seal_for_page(
    session: Session, request: Request, visit: Visit, purpose: str, secret: dict[str, str]
) -> str:
    """Seal `secret` in the transaction that created it, so a rollback leaves no reveal row and a
    committed key always has one; answers the cookie value for `redirect_showing_once`."""
    reveal_id, pad = reveals.seal(session, visit.token, purpose, secret, now_of(request))
    return _serializer(request).dumps({"id": reveal_id, "pad": pad, "purpose": purpose})


def redirect_showing_once(request: Request, url: str, message: Message, sealed: str) -> Response:
    response = redirect(request, url, message)
    response.set_cookie(
        REVEAL_COOKIE,
        sealed,
        max_age=int(reveals.REVEAL_TTL.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )
    return response


def take_shown_once(request: Request, visit: Visit, purpose: str) -> tuple[dict[str, str] | None, bool]:
    """(the secret, or None; whether a reveal cookie for this page came with the request, so the
    page can drop it and say "already shown" when the secret is gone)."""
    raw = request.cookies.get(REVEAL_COOKIE)
    if not raw or len(raw) > 16384:
        return None, False
    try:
        found = _serializer(request).loads(raw, max_age=int(reveals.REVEAL_TTL.total_seconds()))
    except BadSignature:
        return None, True
    if not isinstance(found, dict) or found.get("purpose") != purpose:
        return None, False
    reveal_id, pad = found.get("id"), found.get("pad")
    if not isinstance(reveal_id, str) or not isinstance(pad, str):
        return None, True
    with request.app.state.db.write() as session:
        secret = reveals.unseal(session, visit.token, purpose, reveal_id, pad, now_of(request))
    return secret, True


def forget_reveal(response: Response) -> Response:
    response.delete_cookie(REVEAL_COOKIE, path=COOKIE_PATH)
    return response


def page_showing_once(
    request: Request, visit: Visit, purpose: str, page: Callable[..., Response], gone: str
) -> Response:
    """The GET a create form redirected to: `page(shown=secret, messages=...)` with the secret
    the first time; on a reload, the page with `gone` instead (the secret is not kept)."""
    secret, pending = take_shown_once(request, visit, purpose)
    if not pending:
        return page(shown=None, messages=[])
    return forget_reveal(page(shown=secret, messages=[] if secret else [Message("error", gone)]))
