"""The per-request context handed to routes: who calls, and how to run a unit of work."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response

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

    def read(self, work: Callable[[Any], Any], *, replica: bool = False) -> Response:
        """`replica=True`: a search or list that may lag (docs/read-replica-and-pgbouncer.md)."""
        with self.db.read(replica=replica) as session:
            return _respond(work(session))

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


def authorized(resource: str) -> Callable[[Request], RequestContext]:
    """A dependency: authenticates the caller and checks that it holds `resource`."""

    def dependency(request: Request) -> RequestContext:
        app_state = request.app.state
        principal = authenticate(request)
        # A user token's name is an e-mail, which another store may also have: the store is
        # part of the credential.
        app_state.rate_limiter.check(f"{principal.store_id}:{principal.name}")
        principal.require(resource)
        return RequestContext(request=request, principal=principal, db=app_state.db)

    return dependency


def authenticate(request: Request) -> Principal:
    state = request.app.state
    app_key = request.headers.get("x-vtex-api-appkey")
    app_token = request.headers.get("x-vtex-api-apptoken")
    if app_key and app_token:
        return auth_service.authenticate_key_cached(state.db, app_key, app_token)
    user_token = request.headers.get("vtexidclientautcookie") or request.cookies.get("VtexIdclientAutCookie")
    if user_token:
        return auth_service.authenticate_user_token(state.secret_key, user_token)
    raise Unauthorized(
        "send X-VTEX-API-AppKey and X-VTEX-API-AppToken, or a VtexIdclientAutCookie",
        code="MissingCredentials",
    )
