"""What the connector refuses, and how: a denied payment (200, status denied, a code) when the
buyer cannot pay on credit; a 400 for a request it cannot read; a 404 for a payment it does
not know; a 500 with a code (the protocol's failure) when a rule refuses an operation. Nothing
changes on a refusal. And the store's automatic account creation, at checkout and for the
API's holds."""

import pytest

from customer_credit.checkout import service
from tests.checkout.support import assert_books_balance, assert_spec_answer, gateway_for, new_id, payment_body
from tests.conftest import Store
from tests.helpers import account, configure, dec, hold, open_account

PAYMENTS = "/payments"


@pytest.fixture
def gateway(store):
    return gateway_for(store)


def figures(api, account_id: str) -> tuple:
    found = account(api, account_id)
    return dec(found["balance"]), dec(found["availableCredit"]), dec(found["preAuthorizedCredit"])


def pay(gateway, value="100.00", **buyer) -> dict:
    return assert_spec_answer(gateway.pay(payment_body(value=value, **buyer)), path=PAYMENTS, status=200)


def pay_as(gateway, opened: dict, value="100.00", **fields) -> dict:
    return pay(gateway, value, document=opened["document"], email=opened["email"], **fields)


def denied(answer: dict, code: str) -> None:
    assert (answer["status"], answer["code"]) == ("denied", code), answer
    assert answer["authorizationId"] is None and answer["message"]


# --- denied payments --------------------------------------------------------------------------


def test_a_buyer_without_an_account_is_denied(gateway):
    denied(pay(gateway, document="55500011122", email="nobody@example.com"), service.NO_ACCOUNT)


def test_a_closed_account_is_denied(api, gateway):
    opened = open_account(api, credit_limit="1000")
    assert api.delete(f"/accounts/{opened['id']}").status_code == 200

    denied(pay_as(gateway, opened), service.ACCOUNT_CLOSED)


def test_a_purchase_over_the_available_credit_is_denied_and_holds_nothing(database, store, api, gateway):
    opened = open_account(api, credit_limit="100", tolerance="0.1")
    # The account has a tolerance, but the store does not enable tolerances.
    answer = pay_as(gateway, opened, "100.01")

    denied(answer, service.INSUFFICIENT_CREDIT)
    assert figures(api, opened["id"]) == (dec(0), dec(100), dec(0))
    assert pay_as(gateway, opened, "100.00")["status"] == "approved"
    denied(pay_as(gateway, opened, "0.01"), service.INSUFFICIENT_CREDIT)
    assert_books_balance(database, store)


def test_with_tolerance_enabled_a_purchase_may_use_the_limit_times_the_tolerance(
    database, store, api, gateway
):
    configure(api, toleranceEnabled=True)
    opened = open_account(api, credit_limit="100", tolerance="0.1")

    denied(pay_as(gateway, opened, "110.01"), service.INSUFFICIENT_CREDIT)
    assert pay_as(gateway, opened, "110.00")["status"] == "approved"
    assert figures(api, opened["id"]) == (dec(0), dec(-10), dec(110))
    denied(pay_as(gateway, opened, "0.01"), service.INSUFFICIENT_CREDIT)
    assert_books_balance(database, store)


def test_a_denied_payment_stays_denied_and_cannot_be_settled(api, gateway):
    opened = open_account(api, credit_limit="10")
    body = payment_body(value="20", document=opened["document"], email=opened["email"])
    denied(assert_spec_answer(gateway.pay(body), path=PAYMENTS, status=200), service.INSUFFICIENT_CREDIT)

    refusal = assert_spec_answer(
        gateway.settle(body["paymentId"], "20"), path=f"/payments/{body['paymentId']}/settlements", status=500
    )
    assert refusal["code"] == "PaymentNotApproved"
    assert figures(api, opened["id"]) == (dec(0), dec(10), dec(0))


# --- requests the connector cannot read: 400 ---------------------------------------------------


def test_another_currency_is_a_400(api, gateway):
    opened = open_account(api, credit_limit="1000")
    body = payment_body(currency="EUR", document=opened["document"], email=opened["email"])

    answer = assert_spec_answer(gateway.pay(body), path=PAYMENTS, status=400)
    assert (answer["status"], answer["code"]) == ("error", "CurrencyNotSupported")
    assert "EUR" in answer["message"] and "USD" in answer["message"]
    assert figures(api, opened["id"]) == (dec(0), dec(1000), dec(0))


@pytest.mark.parametrize("installments", [0, 100, -1, 1.5])
def test_installments_out_of_1_to_99_are_a_400(api, gateway, installments):
    opened = open_account(api, credit_limit="1000")
    body = payment_body(installments=installments, document=opened["document"], email=opened["email"])

    answer = assert_spec_answer(gateway.pay(body), path=PAYMENTS, status=400)
    assert "installments" in answer["message"]
    assert figures(api, opened["id"]) == (dec(0), dec(1000), dec(0))


def _without(body: dict, *trail: str) -> dict:
    node = body
    for step in trail[:-1]:
        node = node[step]
    del node[trail[-1]]
    return body


@pytest.mark.parametrize(
    ("broken", "field"),
    [
        (lambda body: _without(body, "paymentId"), "paymentId"),
        (lambda body: _without(body, "value"), "value"),
        (lambda body: _without(body, "miniCart"), "miniCart"),
        (lambda body: _without(body, "miniCart", "buyer"), "miniCart.buyer"),
        (lambda body: {**body, "value": "a lot"}, "value"),
        (lambda body: {**body, "value": "NaN"}, "value"),
        (lambda body: {**body, "paymentId": ""}, "paymentId"),
        (lambda body: {**body, "paymentId": "x" * 65}, "paymentId"),
        (lambda body: {**body, "currency": 840}, "currency"),
        (lambda body: {**body, "miniCart": []}, "miniCart"),
    ],
    ids=[
        "no-paymentId",
        "no-value",
        "no-miniCart",
        "no-buyer",
        "value-not-a-number",
        "value-nan",
        "empty-paymentId",
        "long-paymentId",
        "currency-number",
        "miniCart-list",
    ],
)
def test_a_malformed_payment_is_a_400_naming_the_field(gateway, broken, field):
    answer = assert_spec_answer(gateway.pay(broken(payment_body())), path=PAYMENTS, status=400)
    assert answer["status"] == "error" and answer["code"]
    assert answer["message"].startswith(field), answer


@pytest.mark.parametrize(
    "trail",
    [
        ("paymentId",),
        ("transactionId",),
        ("orderId",),
        ("reference",),
        ("callbackUrl",),
        ("miniCart", "buyer", "document"),
        ("miniCart", "buyer", "email"),
        ("merchantSettings", 0, "value"),
    ],
    ids=lambda trail: ".".join(map(str, trail)),
)
def test_a_nul_character_is_a_400_on_both_databases(api, gateway, trail):
    """PostgreSQL can neither store nor compare text that holds a NUL (a 500 there, once)."""
    opened = open_account(api, credit_limit="1000")
    body = payment_body(
        document=opened["document"],
        email=opened["email"],
        merchant_settings=[{"name": service.PAYMENT_CONDITION_FIELD, "value": "terms"}],
    )
    node = body
    for step in trail[:-1]:
        node = node[step]
    node[trail[-1]] = "a\x00" + str(node[trail[-1]])

    answer = assert_spec_answer(gateway.pay(body), path=PAYMENTS, status=400)
    assert answer["message"].startswith(".".join(map(str, trail))), answer
    assert figures(api, opened["id"]) == (dec(0), dec(1000), dec(0))


@pytest.mark.parametrize("operation", ["settlements", "cancellations", "refunds"])
def test_a_nul_in_a_request_id_is_a_400(api, gateway, operation):
    account_id, payment_id = _approved(api, gateway)
    request_id = "a\x00b"
    response = {
        "settlements": lambda: gateway.settle(payment_id, "100", request_id=request_id),
        "cancellations": lambda: gateway.cancel(payment_id, request_id=request_id),
        "refunds": lambda: gateway.refund(payment_id, "1", request_id=request_id),
    }[operation]()

    assert response.status_code == 400, response.text
    assert response.json()["code"] == "InvalidField"
    assert figures(api, account_id) == (dec(0), dec(900), dec(100))


@pytest.mark.parametrize("content", [b"", b"{", b"null", b'"text"', b"[1, 2]"])
def test_a_body_that_is_not_a_json_object_is_a_400(gateway, content):
    response = gateway.http.post(
        f"{gateway.base}/payments",
        content=content,
        headers={**gateway.headers, "Content-Type": "application/json"},
    )
    answer = assert_spec_answer(response, path=PAYMENTS, status=400)
    assert answer["status"] == "error"


# --- unknown payments: 404 ---------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["settlements", "cancellations", "refunds"])
def test_an_unknown_payment_is_a_404_on_every_operation(database, http, gateway, operation):
    # A payment of another store is as unknown here as one that never was.
    other = _payment_of_another_store(database, http)
    for payment_id in (new_id(), other):
        response = {
            "settlements": lambda payment_id=payment_id: gateway.settle(payment_id, "10"),
            "cancellations": lambda payment_id=payment_id: gateway.cancel(payment_id),
            "refunds": lambda payment_id=payment_id: gateway.refund(payment_id, "10"),
        }[operation]()
        assert response.status_code == 404, response.text
        answer = response.json()
        assert (answer["paymentId"], answer["code"]) == (payment_id, "PaymentNotFound")


def _payment_of_another_store(database, http) -> str:
    other = Store(database, http)
    opened = open_account(other.api(), credit_limit="1000")
    body = payment_body(value="10", document=opened["document"], email=opened["email"])
    assert gateway_for(other).pay(body).json()["status"] == "approved"
    return body["paymentId"]


# --- refusals of a rule: 500 with a code, nothing changed ---------------------------------------


def _approved(api, gateway, value="100.00") -> tuple[str, str]:
    opened = open_account(api, credit_limit="1000")
    body = payment_body(value=value, document=opened["document"], email=opened["email"])
    assert assert_spec_answer(gateway.pay(body), path=PAYMENTS, status=200)["status"] == "approved"
    return opened["id"], body["paymentId"]


def test_a_refund_before_the_settlement_is_refused(database, store, api, gateway):
    account_id, payment_id = _approved(api, gateway)

    refusal = assert_spec_answer(
        gateway.refund(payment_id, "10"), path=f"/payments/{payment_id}/refunds", status=500
    )
    assert (refusal["code"], refusal["refundId"]) == ("PaymentNotSettled", None)
    assert figures(api, account_id) == (dec(0), dec(900), dec(100))
    assert_books_balance(database, store)


def test_a_cancellation_after_the_settlement_is_refused(database, store, api, gateway):
    account_id, payment_id = _approved(api, gateway)
    assert gateway.settle(payment_id, "100.00").status_code == 200

    refusal = assert_spec_answer(
        gateway.cancel(payment_id), path=f"/payments/{payment_id}/cancellations", status=500
    )
    assert (refusal["code"], refusal["cancellationId"]) == ("PaymentSettled", None)
    assert figures(api, account_id) == (dec(-100), dec(900), dec(0))
    invoices = api.get(f"/accounts/{account_id}/invoices").json()["data"]
    assert [invoice["status"] for invoice in invoices] == ["Opened"]
    assert_books_balance(database, store)


def test_a_settlement_after_the_cancellation_is_refused(database, store, api, gateway):
    account_id, payment_id = _approved(api, gateway)
    assert gateway.cancel(payment_id).status_code == 200
    assert figures(api, account_id) == (dec(0), dec(1000), dec(0))

    refusal = assert_spec_answer(
        gateway.settle(payment_id, "100.00"), path=f"/payments/{payment_id}/settlements", status=500
    )
    assert refusal["code"] == "TransactionCancelled" and refusal["settleId"] is None
    assert figures(api, account_id) == (dec(0), dec(1000), dec(0))
    assert api.get(f"/accounts/{account_id}/invoices").json()["data"] == []
    # Cancelling again changes nothing and is no error.
    assert gateway.cancel(payment_id).status_code == 200
    assert_books_balance(database, store)


# --- automatic account creation -----------------------------------------------------------------


def test_with_automatic_creation_a_new_buyer_gets_an_account_found_again_by_email(
    database, store, api, gateway
):
    configure(api, automaticCheckingAccountCreationEnabled=True, defaultCreditValue=500)

    first = pay(
        gateway, "120.00", document="52998224725", document_type="cpf", email="Nova.Buyer@Example.com"
    )
    assert first["status"] == "approved", first
    opened = account(api, "52998224725_CPF")
    assert (opened["document"], opened["documentType"], opened["status"]) == ("52998224725", "CPF", "Open")
    assert opened["email"].lower() == "nova.buyer@example.com"
    assert dec(opened["creditLimit"]) == dec(500)
    assert figures(api, opened["id"]) == (dec(0), dec(380), dec(120))

    # The next purchase carries no document: the e-mail finds the same account.
    second = pay(gateway, "80.00", document=None, email="nova.buyer@example.com")
    assert second["status"] == "approved", second
    assert figures(api, opened["id"]) == (dec(0), dec(300), dec(200))
    listed = api.get("/accounts", params={"email": "nova.buyer@example.com"}).json()
    assert [found["id"] for found in listed["data"]] == ["52998224725_CPF"]
    assert_books_balance(database, store)


def test_automatic_creation_follows_the_document_type(api, gateway):
    configure(api, automaticCheckingAccountCreationEnabled=True, defaultCreditValue=500)

    assert pay(gateway, "10", document="11222333000181", document_type="cnpj", email="co@example.com")[
        "status"
    ] == ("approved")
    assert account(api, "11222333000181_CNPJ")["documentType"] == "CNPJ"


def test_a_new_buyer_over_the_default_credit_is_denied_on_the_account_opened_for_them(api, gateway):
    configure(api, automaticCheckingAccountCreationEnabled=True, defaultCreditValue=50)

    denied(
        pay(gateway, "50.01", document="70011122233", email="small@example.com"), service.INSUFFICIENT_CREDIT
    )
    # The account is open for the next, smaller purchase.
    assert figures(api, "70011122233_CPF") == (dec(0), dec(50), dec(0))


def test_automatic_creation_does_not_reopen_a_closed_account(api, gateway):
    configure(api, automaticCheckingAccountCreationEnabled=True, defaultCreditValue=500)
    opened = open_account(api, credit_limit="1000")
    assert api.delete(f"/accounts/{opened['id']}").status_code == 200

    denied(pay_as(gateway, opened), service.ACCOUNT_CLOSED)


def test_without_automatic_creation_a_new_buyer_is_denied_and_nothing_is_opened(api, gateway):
    configure(api, automaticCheckingAccountCreationEnabled=False, defaultCreditValue=500)

    denied(pay(gateway, document="52998224725", email="new@example.com"), service.NO_ACCOUNT)
    assert api.get("/accounts/52998224725_CPF").status_code == 404


def test_a_buyer_is_found_by_a_holder_email(database, store, api, gateway):
    opened = open_account(api, credit_limit="1000")
    added = api.post(f"/accounts/{opened['id']}/holders", json={"claims": {"email": "holder@example.com"}})
    assert added.status_code == 200, added.text

    # A document the store has no account for, an e-mail that holds one.
    answer = pay(gateway, "30.00", document="99988877766", email="HOLDER@example.com")
    assert answer["status"] == "approved", answer
    assert figures(api, opened["id"]) == (dec(0), dec(970), dec(30))
    assert_books_balance(database, store)


def test_a_buyer_is_found_by_the_owner_email_without_a_document(api, gateway):
    opened = open_account(api, credit_limit="1000")

    assert pay(gateway, "30.00", document=None, email=opened["email"])["status"] == "approved"
    assert figures(api, opened["id"]) == (dec(0), dec(970), dec(30))


def test_an_api_hold_with_an_email_opens_the_account_when_automatic_creation_is_on(database, store, api):
    configure(api, automaticCheckingAccountCreationEnabled=True, defaultCreditValue=300)

    response = hold(api, "40011122233_CPF", "100", email="api.buyer@example.com")
    assert response.status_code == 200, response.text
    opened = account(api, "40011122233_CPF")
    assert (opened["email"], dec(opened["creditLimit"])) == ("api.buyer@example.com", dec(300))
    assert figures(api, opened["id"]) == (dec(0), dec(200), dec(100))
    assert_books_balance(database, store)


def test_an_api_hold_with_an_email_is_a_404_when_automatic_creation_is_off(api):
    configure(api, automaticCheckingAccountCreationEnabled=False, defaultCreditValue=300)

    response = hold(api, "40011122233_CPF", "100", email="api.buyer@example.com")
    assert response.status_code == 404, response.text
    assert api.get("/accounts/40011122233_CPF").status_code == 404
