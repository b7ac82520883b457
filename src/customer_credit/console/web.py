"""Rendering console pages: the Jinja2 environment, security headers, flash messages, redirects."""

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import Environment, FileSystemLoader, select_autoescape

from customer_credit import i18n
from customer_credit.console.labels import state_label
from customer_credit.errors import DomainError

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
COOKIE_PATH = "/admin"
FLASH_COOKIE = "cc_admin_flash"
FLASH_TTL_S = 120

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def make_environment(directory: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(directory)),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # {{ _("text") }}, {{ _("%(n)s days", n=3) }}, {{ ngettext("%(num)s item", "%(num)s items", n) }}
    # and {% trans %}: the language is the one activated for this request (customer_credit.i18n).
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext
    )
    env.globals["query"] = lambda base, **params: urlencode(
        {**base, **params} if base else params, doseq=True
    )
    env.filters["state_label"] = state_label
    # For macros, which do not see the page's presentation: the active language's grouping.
    env.filters["format_count"] = lambda value: format_decimal(value, "#,##0", locale=i18n.active_language())
    env.filters["dict_without_empty"] = lambda values, **extra: {
        key: value for key, value in {**values, **extra}.items() if value not in ("", None)
    }
    return env


environment = make_environment(TEMPLATES)


@dataclass(frozen=True)
class Message:
    kind: str  # "ok" or "error"
    text: str


def error_message(error: DomainError) -> Message:
    return Message("error", error.message)


def secure_cookies(request: Request) -> bool:
    return request.url.scheme == "https"


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    env: Environment = environment,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    messages = list(context.pop("messages", []))
    flash = read_flash(request)
    if flash is not None:
        messages.insert(0, flash)
    presentation = context.get("p")
    language = presentation.locale if presentation is not None else None
    with i18n.activated(language) if language else contextlib.nullcontext():
        body = env.get_template(template).render(request=request, messages=messages, **context)
    response = HTMLResponse(body, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})})
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path=COOKIE_PATH)
    return response


def _flash_serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.secret_key, salt="customer-credit.console.flash")


def read_flash(request: Request) -> Message | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = _flash_serializer(request).loads(raw, max_age=FLASH_TTL_S)
        return Message(str(data["kind"]), str(data["text"]))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def redirect(request: Request, url: str, message: Message | None = None) -> Response:
    """303 See Other after a change (post/redirect/get), carrying a one-time message."""
    response = RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)
    if message is not None:
        response.set_cookie(
            FLASH_COOKIE,
            _flash_serializer(request).dumps({"kind": message.kind, "text": message.text}),
            max_age=FLASH_TTL_S,
            path=COOKIE_PATH,
            httponly=True,
            samesite="lax",
            secure=secure_cookies(request),
        )
    return response


def details_of(error: DomainError, renames: Mapping[str, str] | None = None) -> dict[str, str]:
    """Field name -> message, for showing each message next to its field; `renames` maps the
    service's name of a field to the form's (claims.email -> holderEmail)."""
    found: dict[str, str] = {}
    for detail in error.details:
        if isinstance(detail, dict) and "field" in detail and "message" in detail:
            field = str(detail["field"])
            found.setdefault((renames or {}).get(field, field), str(detail["message"]))
    return found


def refusal(
    error: DomainError, renames: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[Message]]:
    """What a refused form shows, once: each field's message beside its field (the page puts
    the field's label before it), or, when the refusal names no field, one message."""
    errors = details_of(error, renames)
    return errors, ([] if errors else [error_message(error)])
