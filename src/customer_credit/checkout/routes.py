"""HTTP for VTEX's Payment Provider Protocol, one service URL per store: {base}/ppp/{storeName}.

VTEX's gateway calls these; the answers follow the protocol's shapes, failures included: a
malformed request is a 400, an unknown payment a 404, and a rule's refusal a 500 with a code
(the protocol's failure answer, which VTEX retries). Credentials are that store's app key and
token, under X-VTEX-API-* or X-PROVIDER-API-* names, with Main Access or the Payment Provider
resource (docs/vtex-checkout.md)."""

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError

from customer_credit.api.wire import JsonResponse
from customer_credit.auth import service as auth_service
from customer_credit.auth.principal import Principal
from customer_credit.auth.resources import PAYMENT_PROVIDER
from customer_credit.checkout import service
from customer_credit.checkout.models import CheckoutOperation
from customer_credit.checkout.schemas import (
    CancellationRequest,
    PaymentRequest,
    RefundRequest,
    SettlementRequest,
    parse_body,
)
from customer_credit.clock import now_of
from customer_credit.errors import DomainError, Unauthorized
from customer_credit.money import from_cents
from customer_credit.stores import service as stores

log = logging.getLogger("customer_credit.checkout")
PREFIX = "/ppp"
router = APIRouter(prefix=PREFIX + "/{storeName}", tags=["Checkout: VTEX Payment Provider Protocol"])
# A write that lost a race on a unique key (the same paymentId twice at once, or two first
# purchases of one new buyer) runs again: the second time it finds what the first created.
ATTEMPTS = 3

MANIFEST = {
    # Customer Credit is a promissory note in VTEX's terms: no card, and no split of the payment
    # between sellers.
    "paymentMethods": [{"name": "Promissories", "allowsSplit": "disabled"}],
    "customFields": [{"name": service.PAYMENT_CONDITION_FIELD, "type": "text"}],
    "autoSettleDelay": {"minimum": "0", "maximum": "168"},
}


def _store_id(request: Request, store_name: str) -> int:
    """A store's name never changes and a store is never deleted, so the app remembers its id
    for good: the gateway's calls then skip a transaction of their own."""
    state = request.app.state
    if not hasattr(state, "checkout_store_ids"):
        state.checkout_store_ids = {}
    known = state.checkout_store_ids.get(store_name)
    if known is not None:
        return known
    with state.db.read() as session:
        store_id = stores.get_store(session, store_name).id
    if len(state.checkout_store_ids) < 10_000:
        state.checkout_store_ids[store_name] = store_id
    return store_id


def _principal(request: Request, store_name: str) -> Principal:
    headers = request.headers
    app_key = headers.get("x-provider-api-appkey") or headers.get("x-vtex-api-appkey")
    app_token = headers.get("x-provider-api-apptoken") or headers.get("x-vtex-api-apptoken")
    if not app_key or not app_token:
        raise Unauthorized(
            "send the store's app key and token as X-PROVIDER-API-AppKey and X-PROVIDER-API-AppToken"
            " (or X-VTEX-API-AppKey and X-VTEX-API-AppToken)",
            code="MissingCredentials",
        )
    state = request.app.state
    principal = auth_service.authenticate_key_cached(state.db, app_key, app_token)
    store_id = _store_id(request, store_name)
    if principal.store_id != store_id:
        # Said like a wrong token: which stores a key does not belong to is nobody's business.
        raise Unauthorized("invalid app key or token", code="InvalidCredentials")
    state.rate_limiter.check(f"{principal.store_id}:{principal.name}")
    principal.require(PAYMENT_PROVIDER)
    return principal


def _write(request: Request, work: Callable[[Any], Any]) -> Any:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with request.app.state.db.write() as session:
                return work(session)
        except IntegrityError:
            if attempt == ATTEMPTS:
                raise
            log.info("checkout write lost a race on a unique key; running it again")
    raise AssertionError("unreachable")


def _body(request: Request) -> bytes:
    return request.scope.get("_cc_body", b"")


@router.get("/manifest", summary="The payment methods, custom fields and auto-settle delay")
def manifest(storeName: str, request: Request):
    _store_id(request, storeName)  # an unknown store is a 404, as for every other call
    return MANIFEST


@router.post("/payments", summary="Create a payment: a hold on the buyer's credit account")
def create_payment(storeName: str, request: Request):
    principal = _principal(request, storeName)
    try:
        body = parse_body(PaymentRequest, _body(request))
    except DomainError as error:
        return _payment_failure(error)
    now = now_of(request)

    def work(session):
        payment = service.create_payment(session, principal, body, now)
        return service.payment_answer(payment, session)

    try:
        return JsonResponse(_write(request, work))
    except DomainError as error:
        return _payment_failure(error)


def _payment_failure(error: DomainError) -> Response:
    return JsonResponse(
        {"status": "error", "code": error.code, "message": error.message}, status_code=error.status_code
    )


def _operation_route(kind_id: str, model, run, success_message: str):
    """A settlement, cancellation or refund: parse, run once per requestId, answer with the
    operation's id (`kind_id`), or the protocol's failure shape."""

    def handler(storeName: str, paymentId: str, request: Request):
        principal = _principal(request, storeName)
        failure: dict[str, Any] = {"paymentId": paymentId, kind_id: None, "requestId": ""}
        if kind_id != "cancellationId":
            failure["value"] = 0
        try:
            body = parse_body(model, _body(request))
            failure["requestId"] = body.requestId
            now = now_of(request)

            def work(session) -> dict:
                operation: CheckoutOperation = run(session, principal, paymentId, body, now)
                answer = {
                    "paymentId": paymentId,
                    kind_id: operation.public_id,
                    "code": None,
                    "message": success_message,
                    "requestId": body.requestId,
                }
                if kind_id != "cancellationId":
                    answer["value"] = from_cents(operation.value_cents)
                return answer

            return JsonResponse(_write(request, work))
        except DomainError as error:
            return JsonResponse(
                {**failure, "code": error.code, "message": error.message}, status_code=error.status_code
            )

    return handler


router.add_api_route(
    "/payments/{paymentId}/settlements",
    _operation_route(
        "settleId",
        SettlementRequest,
        lambda session, principal, payment_id, body, now: service.settle_payment(
            session, principal, payment_id, body.requestId, body.value, now
        ),
        "Successfully settled",
    ),
    methods=["POST"],
    summary="Settle a payment: its invoices, under the store's payment condition",
)
router.add_api_route(
    "/payments/{paymentId}/cancellations",
    _operation_route(
        "cancellationId",
        CancellationRequest,
        lambda session, principal, payment_id, body, now: service.cancel_payment(
            session, principal, payment_id, body.requestId, now
        ),
        "Successfully cancelled",
    ),
    methods=["POST"],
    summary="Cancel a payment: release its hold",
)
router.add_api_route(
    "/payments/{paymentId}/refunds",
    _operation_route(
        "refundId",
        RefundRequest,
        lambda session, principal, payment_id, body, now: service.refund_payment(
            session, principal, payment_id, body.requestId, body.value, now
        ),
        "Successfully refunded",
    ),
    methods=["POST"],
    summary="Refund a settled payment, partly or wholly",
)


@router.post("/payments/{paymentId}/inbound/{action}", summary="Inbound request (not used by this provider)")
def inbound(storeName: str, paymentId: str, action: str, request: Request):
    _principal(request, storeName)
    body = request.scope.get("_cc_body", b"")
    request_id = ""
    with contextlib.suppress(DomainError):
        request_id = parse_body(CancellationRequest, body).requestId
    return {
        "requestId": request_id,
        "paymentId": paymentId,
        "code": "NotSupported",
        "message": f"this provider has no inbound action {action!r}",
        "responseData": {
            "statusCode": 404,
            "contentType": "application/json",
            "content": '{"error":"no inbound actions"}',
        },
    }
