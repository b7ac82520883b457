"""The per-request context handed to routes: who calls, and how to run a unit of work."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from customer_credit.api.ratelimit import RateLimiter
from customer_credit.api.wire import JsonResponse, dumps
from customer_credit.auth import service as auth_service
from customer_credit.auth.principal import Principal
from customer_credit.db.engine import Database
from customer_credit.errors import Unauthorized
from customer_credit.idempotency import service as idempotency

REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass
class RequestContext:
    request: Request
    principal: Principal
    db: Database

    def read(
        self, work: Callable[[Any], Any], *, replica: bool = False, single_statement: bool = False
    ) -> Response:
        """`replica=True`: a search or list that may lag (docs/read-replica-and-pgbouncer.md).
        `single_statement=True`: `work` sends one SELECT, or SELECTs that need not agree with
        each other, so it needs no snapshot of its own (Database.read)."""
        with self.db.read(replica=replica, single_statement=single_statement) as session:
            return _respond(work(session))

    def read_row(self, work: Callable[[Any], Any]) -> Response:
        """`work` reads with one statement on a plain connection (Database.read_connection)."""
        with self.db.read_connection() as connection:
            return _respond(work(connection))

    def write(self, work: Callable[[Any], Any]) -> Response:
        """Runs `work` in one write transaction. With an Idempotency-Key, this is where the
        request starts executing (its body is whole and valid, its caller let in): its outcome,
        a 2xx or a rule's refusal, is stored with its change and replayed for the key."""
        key = self.request.headers.get("idempotency-key")
        if not key:
            with self.db.write() as session:
                return _respond(work(session))
        return idempotency.run_once(
            self.db,
            self.principal,
            key=key,
            fingerprint=idempotency.fingerprint(
                self.request.method, self.request.url.path, self.request.scope.get("_cc_body", b"")
            ),
            work=lambda session: _render(work(session)),
            respond=_stored_response,
        )


def _render(payload: Any) -> tuple[int, bytes]:
    if payload is None:
        return 200, b""
    return 200, dumps(payload)


def _stored_response(outcome: idempotency.Outcome, replayed: bool) -> Response:
    # Stripe's header: tells a client (and its logs) that this answer is an earlier one.
    headers = {REPLAYED_HEADER: "true"} if replayed else None
    return Response(
        content=outcome.body,
        status_code=outcome.status,
        media_type="application/json" if outcome.body else None,
        headers=headers,
    )


def _respond(payload: Any) -> Response:
    if payload is None:
        return Response(status_code=200)
    return JsonResponse(payload)


def authorized(resource: str) -> Callable[[Request], Any]:
    """A dependency: authenticates the caller and checks that it holds `resource`.

    Async, so that a caller known from the key cache (or a user token, checked by its
    signature) costs no hand-off to a worker thread; a key to look up in the database, or a
    rate limit kept in Redis, is checked in a thread."""

    async def dependency(request: Request) -> RequestContext:
        principal = _known_principal(request)
        if principal is None or not isinstance(request.app.state.rate_limiter, RateLimiter):
            return await run_in_threadpool(_admit, request, resource, principal)
        return _admit(request, resource, principal)

    return dependency


def _admit(request: Request, resource: str, principal: Principal | None) -> RequestContext:
    app_state = request.app.state
    if principal is None:
        principal = authenticate(request)
    # A user token's name is an e-mail, which another store may also have: the store is
    # part of the credential.
    app_state.rate_limiter.check(f"{principal.store_id}:{principal.name}")
    principal.require(resource)
    return RequestContext(request=request, principal=principal, db=app_state.db)


def _credentials(request: Request) -> tuple[str | None, str | None, str | None]:
    """(app key, app token, user token) as the request sends them."""
    user_token = request.headers.get("vtexidclientautcookie") or request.cookies.get("VtexIdclientAutCookie")
    return request.headers.get("x-vtex-api-appkey"), request.headers.get("x-vtex-api-apptoken"), user_token


def _known_principal(request: Request) -> Principal | None:
    """The caller, when that needs no database: a key authenticated a moment ago, or a valid
    user token (whose refusal raises here as in `authenticate`). None: ask `authenticate`."""
    app_key, app_token, user_token = _credentials(request)
    if app_key and app_token:
        return auth_service.recently_authenticated(app_key, app_token)
    if user_token:
        return auth_service.authenticate_user_token(request.app.state.secret_key, user_token)
    return None


def authenticate(request: Request) -> Principal:
    state = request.app.state
    app_key, app_token, user_token = _credentials(request)
    if app_key and app_token:
        return auth_service.authenticate_key_cached(state.db, app_key, app_token)
    if user_token:
        return auth_service.authenticate_user_token(state.secret_key, user_token)
    raise Unauthorized(
        "send X-VTEX-API-AppKey and X-VTEX-API-AppToken, or a VtexIdclientAutCookie",
        code="MissingCredentials",
    )
