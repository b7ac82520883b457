"""The ASGI application: routers, middleware, error handlers, health checks."""

import logging
import os
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi_offline import FastAPIOffline
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from customer_credit import __version__, bench_routes, logs
from customer_credit.accounts.routes import router as accounts_router
from customer_credit.api.errors import (
    document_error_shape,
    domain_error_response,
    error_response,
    install_error_handlers,
)
from customer_credit.api.middleware import (
    BodyGuardMiddleware,
    RequestContextMiddleware,
    TrailingSlashMiddleware,
)
from customer_credit.api.ratelimit import rate_limiter_for
from customer_credit.api.wire import JsonResponse
from customer_credit.checkout.admin_routes import router as checkout_admin_router
from customer_credit.checkout.routes import PREFIX as CHECKOUT_PREFIX
from customer_credit.checkout.routes import router as checkout_router
from customer_credit.console.routes import install_console_error_pages, mount_console
from customer_credit.credit_control.aging_routes import router as aging_router
from customer_credit.credit_control.money_routes import router as credit_control_money_router
from customer_credit.credit_control.routes import router as credit_control_router
from customer_credit.credit_control.trust_routes import router as trust_router
from customer_credit.db.base import utcnow
from customer_credit.db.engine import Database
from customer_credit.documents.logo import router as logo_router
from customer_credit.documents.pages import console_router as documents_console_router
from customer_credit.documents.routes import router as documents_router
from customer_credit.errors import ConcurrentConflict
from customer_credit.events.routes import router as events_router
from customer_credit.invoices.routes import router as invoices_router
from customer_credit.ledger.routes import router as ledger_router
from customer_credit.my_credits.routes import mount_my_credits
from customer_credit.payment_conditions.routes import router as payment_conditions_router
from customer_credit.reminders.routes import router as reminders_router
from customer_credit.settings import Settings, get_settings
from customer_credit.stores.routes import router as stores_router
from customer_credit.transactions.routes import router as transactions_router

API_PREFIX = "/api/creditcontrol"
log = logging.getLogger("customer_credit.app")


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    if os.environ.get(logs.CONFIGURE_IN_APP_ENV) == "true":
        logs.configure(settings.log_level)
    db = database or Database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        worker = None
        if settings.run_worker_in_process:
            from customer_credit.jobs.worker import Worker

            worker = Worker(db, interval_s=settings.worker_interval_s)
            from customer_credit.clock import shifted_clock

            worker.clock = shifted_clock(offset_days=settings.clock_offset_days)
            worker.start_thread()
        yield
        if worker is not None:
            worker.stop()
        app.state.rate_limiter.close()
        if database is None:
            db.dispose()

    # /docs and /redoc with their scripts and styles served from the package, not a CDN, so the
    # API reference works on a machine with no internet access.
    app = FastAPIOffline(
        static_url="/docs-assets",
        title="Customer Credit",
        version=__version__,
        description="A self-hosted service that speaks the VTEX Customer Credit API.",
        default_response_class=JsonResponse,
        lifespan=lifespan,
        redirect_slashes=False,
    )
    app.state.db = db
    app.state.settings = settings
    app.state.clock = utcnow  # "now" for requests (customer_credit.clock); tests freeze it
    app.state.secret_key = settings.resolved_secret_key()
    app.state.rate_limiter = rate_limiter_for(settings)

    for router in (
        accounts_router,
        ledger_router,
        transactions_router,
        invoices_router,
        stores_router,
        payment_conditions_router,
    ):
        app.include_router(router)
    app.include_router(checkout_admin_router)
    app.include_router(checkout_router)
    app.include_router(events_router)
    app.include_router(reminders_router)
    app.include_router(credit_control_router)
    app.include_router(aging_router)
    app.include_router(documents_router)
    app.include_router(documents_console_router)
    app.include_router(logo_router)
    app.include_router(trust_router)
    app.include_router(credit_control_money_router)

    mount_console(app)
    mount_my_credits(app)

    bench_routes.install(app)
    install_error_handlers(app)
    install_console_error_pages(app)
    document_error_shape(app)

    @app.exception_handler(IntegrityError)
    async def integrity_error(_request: Request, error: IntegrityError):
        log.info("integrity conflict: %s", error.orig)
        return domain_error_response(ConcurrentConflict())

    @app.exception_handler(OperationalError)
    async def operational_error(_request: Request, error: OperationalError):
        log.error("database unavailable: %s", error.orig)
        return error_response(
            503, "DatabaseUnavailable", "the database is not reachable; retry", headers={"Retry-After": "1"}
        )

    # Someone who opens the bare address (as printed by `serve`) lands on the console, not a 404.
    @app.get("/", include_in_schema=False)
    def front_door():
        return RedirectResponse("/admin", status_code=307)

    @app.get("/healthz", tags=["Operations"], summary="Liveness")
    def healthz():
        return {"status": "ok"}

    @app.get("/readyz", tags=["Operations"], summary="Readiness: the database answers")
    def readyz():
        try:
            with db.read() as session:
                session.execute(text("SELECT 1"))
        except Exception as error:  # noqa: BLE001 - any failure means not ready
            return error_response(503, "NotReady", f"database unreachable: {type(error).__name__}")
        return {"status": "ready"}

    app.add_middleware(
        BodyGuardMiddleware,
        max_body_bytes=settings.max_body_bytes,
        guarded_prefix=(API_PREFIX, CHECKOUT_PREFIX),
    )
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(TrailingSlashMiddleware)
    return app
