"""The admin console under /admin: its routers, its static files, and how a refused request
(no session, a bad CSRF token, a viewer trying a change) is shown."""

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles

from customer_credit.console import (
    accounts_pages,
    adjustments_pages,
    aging_pages,
    checkout_pages,
    csv_pages,
    home,
    invoices_pages,
    links_pages,
    settings_pages,
)
from customer_credit.console.session import ConsoleDenied, current_visit, sign_in_url
from customer_credit.console.throttle import SignInThrottle
from customer_credit.console.web import STATIC, redirect, render

ROUTERS = (
    home.router,
    accounts_pages.router,
    links_pages.router,
    invoices_pages.router,
    adjustments_pages.router,
    aging_pages.router,
    checkout_pages.router,
    settings_pages.router,
    csv_pages.router,
)


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
                "title": "Not allowed",
                "visit": visit,
                "p": visit.presentation if visit else None,
                "active": "",
                "message": error.message,
            },
            status_code=error.status_code,
        )
