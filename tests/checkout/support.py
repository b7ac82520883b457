"""Builders for the connector's tests: VTEX's requests as its gateway sends them."""

import copy
import json
import os
import uuid
from functools import lru_cache
from pathlib import Path

import jsonschema

from tests.conftest import Store
from tests.contract import json_schema


def new_id() -> str:
    return uuid.uuid4().hex.upper()


def payment_body(
    *,
    value="100.00",
    installments=1,
    email="buyer@example.com",
    document="12345678900",
    document_type="cpf",
    currency="USD",
    payment_id=None,
    callback_url="https://gateway.example.com/callback?X-VTEX-signature=abc",
    merchant_settings=None,
) -> dict:
    payment_id = payment_id or new_id()
    body = {
        "reference": f"ref-{payment_id[:6]}",
        "orderId": f"order-{payment_id[:8]}",
        "shopperInteraction": "ecommerce",
        "transactionId": new_id(),
        "paymentId": payment_id,
        "paymentMethod": "Promissories",
        "paymentMethodCustomCode": None,
        "merchantName": "mystore",
        "value": value,
        "referenceValue": value,
        "currency": currency,
        "installments": installments,
        "installmentsInterestRate": 0,
        "installmentsValue": value,
        "deviceFingerprint": "12345",
        "ipAddress": "203.0.113.9",
        "miniCart": {
            "shippingValue": 0,
            "taxValue": 0,
            "buyer": {
                "id": "buyer-1",
                "firstName": "Ana",
                "lastName": "Silva",
                "document": document,
                "documentType": document_type,
                "email": email,
                "phone": "+5511999999999",
                "isCorporate": False,
            },
            "shippingAddress": None,
            "billingAddress": None,
            "items": [{"id": "1", "name": "Widget", "price": value, "quantity": 1, "discount": 0}],
        },
        "url": "https://admin.example.com/orders/1",
        "callbackUrl": callback_url,
        "returnUrl": "https://shop.example.com/return",
        "merchantSettings": merchant_settings or [],
    }
    return body


class Gateway:
    """VTEX's gateway calling /ppp/{store} with a store's key."""

    def __init__(self, http, store: Store, headers: dict[str, str], *, provider_headers: bool = True):
        self.http = http
        self.store = store
        if provider_headers:
            headers = {
                "X-PROVIDER-API-AppKey": headers["X-VTEX-API-AppKey"],
                "X-PROVIDER-API-AppToken": headers["X-VTEX-API-AppToken"],
            }
        self.headers = {**headers, "Accept": "application/json"}
        self.base = f"/ppp/{store.name}"

    def manifest(self):
        return self.http.get(f"{self.base}/manifest", headers={"Accept": "application/json"})

    def pay(self, body: dict):
        return self.http.post(f"{self.base}/payments", json=body, headers=self.headers)

    def settle(self, payment_id: str, value, *, request_id=None, authorization_id="x"):
        return self.http.post(
            f"{self.base}/payments/{payment_id}/settlements",
            json={
                "transactionId": new_id(),
                "requestId": request_id or new_id(),
                "paymentId": payment_id,
                "value": value,
                "authorizationId": authorization_id,
            },
            headers=self.headers,
        )

    def cancel(self, payment_id: str, *, request_id=None):
        return self.http.post(
            f"{self.base}/payments/{payment_id}/cancellations",
            json={"paymentId": payment_id, "requestId": request_id or new_id(), "authorizationId": "x"},
            headers=self.headers,
        )

    def refund(self, payment_id: str, value, *, request_id=None):
        return self.http.post(
            f"{self.base}/payments/{payment_id}/refunds",
            json={
                "requestId": request_id or new_id(),
                "settleId": "s",
                "paymentId": payment_id,
                "tid": "t",
                "value": value,
                "transactionId": new_id(),
            },
            headers=self.headers,
        )


def gateway_for(store: Store, resources=None, **kwargs) -> Gateway:
    from customer_credit.auth.resources import PAYMENT_PROVIDER

    api = store.api(resources=resources or (PAYMENT_PROVIDER,))
    return Gateway(store.http, store, api.headers, **kwargs)


# --- figures and books, for the retry, concurrency and manual-review tests -----------------


def holds_of_payment(database, store: Store, payment_id: str) -> int:
    """How many transactions (holds) the store has for a VTEX paymentId: a retry adds none."""
    from sqlalchemy import func, select

    from customer_credit.transactions.models import Transaction

    with database.read() as session:
        return session.scalar(
            select(func.count())
            .select_from(Transaction)
            .where(Transaction.store_id == store.id, Transaction.payment_id == payment_id)
        )


def assert_books_balance(database, store: Store) -> None:
    """The stored figures of every account of the store agree with its ledger and live holds."""
    from customer_credit.ledger.service import recompute_mismatches

    with database.read() as session:
        assert recompute_mismatches(session, store.id) == []


# ---------------------------------------------------------------------------------------------
# VTEX's Payment Provider Protocol, loaded from ../shared (never copied into the project).

PPP_SPEC_PATH = Path(
    os.environ.get(
        "CUSTOMER_CREDIT_PPP_CONTRACT",
        Path(__file__).resolve().parents[3] / "shared" / "reference" / "vtex-payment-provider-protocol.json",
    )
)
# The spec's own words contradict its schema: Success-Approved makes `authorizationId` a
# required string, but its description says "in other statuses, it should be absent or
# `null`", and its own "Success - PIX" example (status undefined) sends null. A denied or
# undefined answer of ours sends null, as the description and the example do.
PPP_SPEC_DEFECTS = {("Success-Approved", "authorizationId")}


@lru_cache
def ppp_spec() -> dict:
    return json.loads(PPP_SPEC_PATH.read_text())


@lru_cache
def _patched_spec() -> dict:
    """The spec with its documented defects (PPP_SPEC_DEFECTS) made nullable."""
    spec = copy.deepcopy(ppp_spec())
    for owner, name in PPP_SPEC_DEFECTS:
        field = spec["components"]["schemas"][owner]["properties"][name]
        assert not field.get("nullable"), "the spec fixed a documented defect; drop it from PPP_SPEC_DEFECTS"
        field["nullable"] = True
    return spec


def ppp_response(method: str, path: str, status: int) -> dict:
    """The spec's response object for an operation and status (KeyError: not documented)."""
    return ppp_spec()["paths"][path][method.lower()]["responses"][str(status)]


def ppp_response_schema(method: str, path: str, status: int, *, patched: bool = True) -> dict:
    """As JSON Schema: $refs inlined, `nullable` as a type union (tests.contract.json_schema)."""
    content = ppp_response(method, path, status)["content"]["application/json"]
    return json_schema(content["schema"], _patched_spec() if patched else ppp_spec())


def ppp_errors(method: str, path: str, status: int, body, *, patched: bool = True) -> list[str]:
    """What is wrong with `body` as the spec's answer `status` of an operation (empty: nothing)."""
    validator = jsonschema.Draft7Validator(ppp_response_schema(method, path, status, patched=patched))
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<body>'}: {error.message}"
        for error in validator.iter_errors(body)
    ]


# A connector path under /ppp/{store}, to the spec's path template.
def spec_path(connector_path: str) -> str:
    parts = connector_path.split("/")
    if len(parts) >= 4 and parts[1] == "payments":
        parts[2] = "{paymentId}"
        if len(parts) == 5 and parts[3] == "inbound":
            parts[4] = "{action}"
    return "/".join(parts)


def assert_spec_answer(response, *, method: str = "POST", path: str, status: int) -> dict:
    """The response has `status`, a status the spec documents for the operation, and a JSON body
    its schema accepts. Returns the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    problems = ppp_errors(method, spec_path(path), status, body)
    assert not problems, f"{method} {path} {status} breaks the spec: {problems}\n{body}"
    return body
