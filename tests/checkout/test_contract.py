"""Every answer of the connector against VTEX's Payment Provider Protocol, the spec in
../shared: the status code the spec documents for the case, and a body that the spec's own
schema for that status accepts ($refs resolved, OpenAPI's `nullable` honoured)."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from customer_credit.checkout import service
from customer_credit.transactions.models import Transaction
from tests.checkout.support import (
    PPP_SPEC_DEFECTS,
    assert_spec_answer,
    gateway_for,
    new_id,
    payment_body,
    ppp_errors,
    ppp_response,
    ppp_response_schema,
    ppp_spec,
)
from tests.helpers import configure, open_account

PAYMENTS = "/payments"
SETTLEMENTS = "/payments/{paymentId}/settlements"
CANCELLATIONS = "/payments/{paymentId}/cancellations"
REFUNDS = "/payments/{paymentId}/refunds"
INBOUND = "/payments/{paymentId}/inbound/{action}"


@pytest.fixture
def gateway(store):
    return gateway_for(store)


@pytest.fixture
def buyer(api) -> dict:
    return open_account(api, credit_limit="1000")


def pay(gateway, buyer, value="120.50", **fields):
    body = payment_body(value=value, document=buyer["document"], email=buyer["email"], **fields)
    return body, gateway.pay(body)


def approved(gateway, buyer, value="120.50", **fields) -> tuple[str, dict]:
    body, response = pay(gateway, buyer, value, **fields)
    answer = assert_spec_answer(response, path=PAYMENTS, status=200)
    assert answer["status"] == "approved", answer
    return body["paymentId"], answer


def documented_statuses(path: str) -> set[int]:
    method = "get" if path == "/manifest" else "post"
    return {int(code) for code in ppp_spec()["paths"][path][method]["responses"]}


# --- the spec as read -------------------------------------------------------------------------


def test_the_spec_has_the_nine_operations_and_the_statuses_asserted_here():
    paths = ppp_spec()["paths"]
    operations = sorted((method, path) for path, methods in paths.items() for method in methods)
    assert len(operations) == 9, operations
    assert documented_statuses(PAYMENTS) == {200, 400, 500}
    assert documented_statuses(SETTLEMENTS) == {200, 500}
    assert documented_statuses(CANCELLATIONS) == {200, 500, 501}
    assert documented_statuses(REFUNDS) == {200, 500, 501}
    assert documented_statuses(INBOUND) == {200}


def test_nullable_becomes_a_type_union():
    schema = ppp_response_schema("POST", SETTLEMENTS, 200)
    assert schema["properties"]["code"]["type"] == ["string", "null"]
    # A failure's code is not nullable: a refusal must say why.
    assert ppp_response_schema("POST", SETTLEMENTS, 500)["properties"]["code"]["type"] == "string"
    assert ppp_response_schema("POST", SETTLEMENTS, 500)["properties"]["settleId"]["type"] == [
        "string",
        "null",
    ]


def test_the_one_patched_defect_is_a_defect_of_the_spec():
    """Success-Approved types authorizationId as a required string, yet says it is absent or
    null when the payment is not authorized, and its own undefined example sends null."""
    assert {("Success-Approved", "authorizationId")} == PPP_SPEC_DEFECTS
    raw = ppp_spec()["components"]["schemas"]["Success-Approved"]["properties"]["authorizationId"]
    assert "absent or `null`" in raw["description"]
    pix = ppp_response("POST", PAYMENTS, 200)["content"]["application/json"]["examples"]["Success - PIX"]
    assert pix["value"]["authorizationId"] is None
    assert "authorizationId: None is not of type 'string'" in ppp_errors(
        "POST", PAYMENTS, 200, pix["value"], patched=False
    )
    assert not [e for e in ppp_errors("POST", PAYMENTS, 200, pix["value"]) if e.startswith("authorizationId")]


# --- manifest ---------------------------------------------------------------------------------


def _spec_payment_method_names() -> set[str]:
    description = ppp_spec()["paths"]["/manifest"]["get"]["description"]
    return set(re.findall(r"^\| `([^`]+)` \|", description, flags=re.MULTILINE))


def test_manifest_follows_the_spec(store, gateway):
    answer = assert_spec_answer(gateway.manifest(), method="GET", path="/manifest", status=200)

    names = _spec_payment_method_names()
    assert "Promissories" in names and len(names) > 30  # the table was read
    assert [method["name"] for method in answer["paymentMethods"]] == ["Promissories"]
    assert all(method["name"] in names for method in answer["paymentMethods"])
    delay = answer["autoSettleDelay"]
    # Whole hours, as strings: the spec allows no decimals.
    assert all(isinstance(value, str) and value.isdigit() for value in delay.values()), delay
    assert 0 <= int(delay["minimum"]) <= int(delay["maximum"]) <= 7 * 24
    assert {"name": service.PAYMENT_CONDITION_FIELD, "type": "text"} in answer["customFields"]


def test_manifest_needs_no_credentials_and_an_unknown_store_is_a_404(http):
    assert http.get("/ppp/no-such-store/manifest").status_code == 404


# --- payments ---------------------------------------------------------------------------------


def test_approved_payment(database, api, gateway, buyer, frozen_clock):
    payment_id, answer = approved(gateway, buyer, installments=3)

    assert answer["paymentId"] == payment_id
    assert all(isinstance(answer[name], str) and answer[name] for name in ("authorizationId", "tid", "nsu"))
    assert answer["code"] and answer["message"]
    with database.read() as session:
        hold = session.scalar(select(Transaction).where(Transaction.public_id == answer["authorizationId"]))
        assert hold is not None and hold.payment_id == payment_id
        lifetime = hold.expires_at - hold.created_at
    # delayToCancel is the hold's expiry.
    assert lifetime == timedelta(seconds=answer["delayToCancel"])
    assert answer["delayToAutoSettle"] == answer["delayToAutoSettleAfterAntifraud"] > 0


def test_denied_payment(gateway, buyer):
    _, response = pay(gateway, buyer, value="5000")
    answer = assert_spec_answer(response, path=PAYMENTS, status=200)

    assert (answer["status"], answer["code"]) == ("denied", service.INSUFFICIENT_CREDIT)
    assert answer["authorizationId"] is None and answer["nsu"] is None
    assert answer["message"] and answer["tid"]


def test_undefined_payment_under_manual_review(api, gateway, buyer):
    assert api.put("/checkout/settings", json={"manualReviewEnabled": True}).status_code == 200
    _, response = pay(gateway, buyer, value="5000")
    answer = assert_spec_answer(response, path=PAYMENTS, status=200)

    assert (answer["status"], answer["code"]) == ("undefined", service.AWAITING_APPROVAL)
    assert answer["authorizationId"] is None
    settings = api.get("/checkout/settings").json()
    assert answer["delayToCancel"] == settings["reviewWindowSeconds"]


def test_a_retried_payment_answers_the_same(gateway, buyer):
    body, first = pay(gateway, buyer)
    again = gateway.pay(body)
    assert assert_spec_answer(again, path=PAYMENTS, status=200) == first.json()


@pytest.mark.parametrize(
    "content",
    [b"{}", b"not json", b"[]", b'{"paymentId": 12}'],
    ids=["empty-object", "not-json", "array", "wrong-type"],
)
def test_a_malformed_payment_is_a_400_in_the_spec_failure_shape(gateway, content):
    response = gateway.http.post(
        f"{gateway.base}/payments",
        content=content,
        headers={**gateway.headers, "Content-Type": "application/json"},
    )
    answer = assert_spec_answer(response, path=PAYMENTS, status=400)
    assert answer["status"] == "error" and answer["code"] and answer["message"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("value", "-1"), ("value", "0"), ("value", "1.001"), ("installments", 0), ("currency", "EURO")],
)
def test_a_payment_with_a_bad_field_is_a_400_that_names_it(gateway, buyer, field, value):
    body = payment_body(document=buyer["document"], email=buyer["email"])
    body[field] = value
    answer = assert_spec_answer(gateway.pay(body), path=PAYMENTS, status=400)
    assert field in answer["message"]


# --- settlements, cancellations, refunds: success ---------------------------------------------


def test_settlement_answer(gateway, buyer):
    payment_id, _ = approved(gateway, buyer)
    request_id = new_id()
    answer = assert_spec_answer(
        gateway.settle(payment_id, "120.50", request_id=request_id),
        path=f"/payments/{payment_id}/settlements",
        status=200,
    )
    assert (answer["paymentId"], answer["requestId"], answer["value"], answer["code"]) == (
        payment_id,
        request_id,
        120.5,
        None,
    )
    assert answer["settleId"]


def test_cancellation_answer(gateway, buyer):
    payment_id, _ = approved(gateway, buyer)
    request_id = new_id()
    answer = assert_spec_answer(
        gateway.cancel(payment_id, request_id=request_id),
        path=f"/payments/{payment_id}/cancellations",
        status=200,
    )
    assert (answer["paymentId"], answer["requestId"], answer["code"]) == (payment_id, request_id, None)
    assert answer["cancellationId"]


def test_refund_answer(gateway, buyer):
    payment_id, _ = approved(gateway, buyer)
    assert gateway.settle(payment_id, "120.50").status_code == 200
    request_id = new_id()
    answer = assert_spec_answer(
        gateway.refund(payment_id, "20.25", request_id=request_id),
        path=f"/payments/{payment_id}/refunds",
        status=200,
    )
    assert (answer["paymentId"], answer["requestId"], answer["value"], answer["code"]) == (
        payment_id,
        request_id,
        20.25,
        None,
    )
    assert answer["refundId"]


# --- settlements, cancellations, refunds: failures --------------------------------------------


def test_refusals_are_the_documented_500_in_the_spec_failure_shape(api, gateway, buyer):
    configure(api, maxPreAuthorizationGrowthRate=0.1)
    payment_id, _ = approved(gateway, buyer, value="100")
    _, denied = pay(gateway, buyer, value="5000")
    denied_id = denied.json()["paymentId"]

    refund = assert_spec_answer(
        gateway.refund(payment_id, "10"), path=f"/payments/{payment_id}/refunds", status=500
    )
    assert (refund["code"], refund["refundId"]) == ("PaymentNotSettled", None)
    settle = assert_spec_answer(
        gateway.settle(payment_id, "110.01"), path=f"/payments/{payment_id}/settlements", status=500
    )
    assert (settle["code"], settle["settleId"]) == ("GrowthLimitExceeded", None)
    settle = assert_spec_answer(
        gateway.settle(denied_id, "10"), path=f"/payments/{denied_id}/settlements", status=500
    )
    assert settle["code"] == "PaymentNotApproved"

    assert gateway.settle(payment_id, "100").status_code == 200
    cancel = assert_spec_answer(
        gateway.cancel(payment_id), path=f"/payments/{payment_id}/cancellations", status=500
    )
    assert (cancel["code"], cancel["cancellationId"]) == ("PaymentSettled", None)
    refund = assert_spec_answer(
        gateway.refund(payment_id, "100.01"), path=f"/payments/{payment_id}/refunds", status=500
    )
    assert refund["refundId"] is None and refund["code"]
    for answer in (refund, settle, cancel):
        assert answer["message"] and answer["requestId"]


@pytest.mark.parametrize("operation", ["settlements", "cancellations", "refunds"])
def test_an_unknown_payment_is_a_404_in_the_operation_failure_shape(gateway, operation):
    payment_id = new_id()
    response = {
        "settlements": lambda: gateway.settle(payment_id, "10"),
        "cancellations": lambda: gateway.cancel(payment_id),
        "refunds": lambda: gateway.refund(payment_id, "10"),
    }[operation]()
    assert response.status_code == 404, response.text
    # The spec documents no 404; the body keeps the shape of the operation's failure answer.
    answer = response.json()
    assert not ppp_errors("POST", f"/payments/{{paymentId}}/{operation}", 500, answer)
    assert (answer["paymentId"], answer["code"]) == (payment_id, "PaymentNotFound")


@pytest.mark.parametrize("operation", ["settlements", "cancellations", "refunds"])
def test_a_malformed_operation_is_a_400_in_the_operation_failure_shape(gateway, buyer, operation):
    payment_id, _ = approved(gateway, buyer)
    response = gateway.http.post(
        f"{gateway.base}/payments/{payment_id}/{operation}",
        json={"paymentId": payment_id, "value": "ten"},
        headers=gateway.headers,
    )
    assert response.status_code == 400, response.text
    answer = response.json()
    assert not ppp_errors("POST", f"/payments/{{paymentId}}/{operation}", 500, answer)
    assert answer["code"] == "InvalidField" and "requestId" in answer["message"]


# --- inbound and the configuration flow -------------------------------------------------------


def test_inbound_answer(gateway, buyer):
    payment_id, answer = approved(gateway, buyer)
    request_id = new_id()
    body = {
        "requestId": request_id,
        "transactionId": new_id(),
        "paymentId": payment_id,
        "authorizationId": answer["authorizationId"],
        "tid": answer["tid"],
        "nsu": answer["nsu"],
        "requestData": {"body": "{}"},
    }
    response = gateway.http.post(
        f"{gateway.base}/payments/{payment_id}/inbound/hook", json=body, headers=gateway.headers
    )
    inbound = assert_spec_answer(response, path=f"/payments/{payment_id}/inbound/hook", status=200)
    assert (inbound["requestId"], inbound["paymentId"]) == (request_id, payment_id)
    assert inbound["responseData"]["statusCode"] == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/authorization/token"),
        ("GET", "/authorization/redirect?applicationId=vtex&token=x"),
        ("GET", "/authorization/credentials?applicationId=vtex&authorizationCode=x"),
    ],
)
def test_the_configuration_flow_is_not_offered(gateway, method, path):
    kwargs = {"json": {"applicationId": "vtex", "returnUrl": "https://x"}} if method == "POST" else {}
    response = gateway.http.request(method, f"{gateway.base}{path}", headers=gateway.headers, **kwargs)
    assert response.status_code == 404, response.text
