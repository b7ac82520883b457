"""The admin console under /admin: its routers, its static files, and how a refused request
(no session, a bad CSRF token, a viewer trying a change) is shown."""

import inspect
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from customer_credit import i18n
from customer_credit.api.errors import allowed_methods
from customer_credit.console import (
    accounts_pages,
    adjustments_pages,
    aging_pages,
    checkout_pages,
    csv_pages,
    home,
    invoices_pages,
    keys_pages,
    links_pages,
    operators_pages,
    payments_pages,
    reminder_log_pages,
    settings_pages,
    transactions_pages,
    webhooks_pages,
)
from customer_credit.console.session import ConsoleDenied, current_visit, sign_in_url
from customer_credit.console.throttle import SignInThrottle
from customer_credit.console.web import STATIC, redirect, render
from customer_credit.i18n import N_
from customer_credit.i18n import gettext as _

ROUTERS = (
    home.router,
    accounts_pages.router,
    transactions_pages.router,
    links_pages.router,
    invoices_pages.router,
    adjustments_pages.router,
    aging_pages.router,
    checkout_pages.router,
    settings_pages.router,
    csv_pages.router,
    reminder_log_pages.router,
    payments_pages.router,
    operators_pages.router,
    webhooks_pages.router,
    keys_pages.router,
)


CONSOLE_PREFIX = "/admin"


def is_console_path(path: str) -> bool:
    return path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")


def _has_get_route(app: FastAPI, path: str) -> bool:
    scope = {"type": "http", "path": path, "root_path": "", "method": "GET"}
    return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)


def form_page(app: FastAPI, path: str) -> str:
    """The page a POST-only console URL belongs to: the path without its last segment(s),
    down to the first one a GET answers; /admin when none does."""
    segments = path.rstrip("/").split("/")
    while len(segments) > 2:
        segments.pop()
        candidate = "/".join(segments)
        if _has_get_route(app, candidate):
            return candidate
    return CONSOLE_PREFIX


def _in_language_of(visit, message: str) -> str:
    """A message of a handler that runs outside the request's dependencies, which activate the
    store's language: translated here for the visit's store (English with no visit)."""
    with i18n.activated(visit.presentation.locale if visit else None):
        return _(message)


def mount_console(app: FastAPI) -> None:
    app.mount("/admin/static", StaticFiles(directory=STATIC), name="console-static")
    app.state.sign_in_throttle = SignInThrottle()
    for router in ROUTERS:
        app.include_router(router)

    @app.exception_handler(ConsoleDenied)
    async def console_denied(request: Request, error: ConsoleDenied):
        if error.sign_in:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return redirect(request, sign_in_url(target if request.method == "GET" else None))
        visit = current_visit(request)
        return render(
            request,
            "denied.html",
            {
                "title": _in_language_of(visit, N_("Not allowed")),
                "visit": visit,
                "p": visit.presentation if visit else None,
                "active": "",
                "message": error.message,
            },
            status_code=error.status_code,
        )


def install_console_error_pages(app: FastAPI) -> None:
    """Under /admin a 404 and a 405 are pages (a reloaded POST-only URL goes back to its page);
    elsewhere the handler installed before this one (the API's error shape; FastAPI's default
    `http_exception_handler` when there is none) answers as it did. Call it after the API's
    error handlers are installed."""
    previous = app.exception_handlers.get(StarletteHTTPException, http_exception_handler)

    @app.exception_handler(StarletteHTTPException)
    async def console_http_error(request: Request, error: StarletteHTTPException):
        if not is_console_path(request.url.path) or error.status_code not in (404, 405):
            answer = previous(request, error)
            return await answer if inspect.isawaitable(answer) else answer
        if error.status_code == 405 and request.method == "GET":
            return redirect(request, quote(form_page(request.app, request.url.path), safe="/"))
        visit = current_visit(request)
        context = {
            "visit": visit,
            "p": visit.presentation if visit else None,
            "active": "",
        }
        # Rendered in the store's language; no request dependency has activated it here.
        with i18n.activated(visit.presentation.locale if visit else None):
            if error.status_code == 404:
                context.update(title=_("Not found"), message=_("There is no such page."))
            else:
                context.update(
                    title=_("Not allowed"),
                    message=_("%(method)s is not allowed on this page.") % {"method": request.method},
                )
        if error.status_code == 404:
            return render(request, "not_found.html", context, status_code=404)
        return render(
            request,
            "denied.html",
            context,
            status_code=405,
            headers={**(error.headers or {}), "Allow": allowed_methods(request)},
        )
