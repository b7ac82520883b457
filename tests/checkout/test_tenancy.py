"""Who may call /ppp/{store}: that store's key, with Main Access or the Payment Provider
resource, under the X-PROVIDER-API-* or the X-VTEX-API-* header names. Another store's key is
refused as a wrong token (401), as is a request without credentials; a key of the right store
without either resource is a 403; the gateway's key opens nothing of the management API; an
unknown store is a 404."""

import pytest

from customer_credit.auth import service as auth_service
from customer_credit.auth.resources import MAIN_ACCESS, PAYMENT_PROVIDER, READ_ACCOUNTS, READ_CONFIGURATION
from tests.checkout.support import Gateway, assert_spec_answer, gateway_for, new_id, payment_body
from tests.conftest import Store
from tests.helpers import account, dec, open_account

OPERATIONS = ["payments", "settlements", "cancellations", "refunds", "inbound"]


@pytest.fixture
def store_b(database, http) -> Store:
    return Store(database, http)


@pytest.fixture
def payment_a(store, api) -> tuple[str, str]:
    """An approved payment of store A: (account id, paymentId)."""
    opened = open_account(api, credit_limit="1000")
    body = payment_body(value="100", document=opened["document"], email=opened["email"])
    assert gateway_for(store).pay(body).json()["status"] == "approved"
    return opened["id"], body["paymentId"]


def call(gateway: Gateway, operation: str, payment_id: str, *, headers: dict | None = None):
    """One connector operation on `payment_id`, with the gateway's headers or `headers`."""
    headers = gateway.headers if headers is None else headers
    base = gateway.base
    bodies = {
        "payments": ("/payments", payment_body(payment_id=payment_id)),
        "settlements": (
            f"/payments/{payment_id}/settlements",
            {
                "requestId": new_id(),
                "paymentId": payment_id,
                "value": 10,
                "transactionId": "t",
                "authorizationId": "a",
            },
        ),
        "cancellations": (
            f"/payments/{payment_id}/cancellations",
            {"requestId": new_id(), "paymentId": payment_id, "authorizationId": "a"},
        ),
        "refunds": (
            f"/payments/{payment_id}/refunds",
            {"requestId": new_id(), "paymentId": payment_id, "value": 10, "settleId": "s", "tid": "t"},
        ),
        "inbound": (f"/payments/{payment_id}/inbound/hook", {"requestId": new_id(), "paymentId": payment_id}),
    }
    path, body = bodies[operation]
    return gateway.http.post(base + path, json=body, headers=headers)


def untouched(api, account_id: str) -> None:
    found = account(api, account_id)
    assert (dec(found["balance"]), dec(found["preAuthorizedCredit"])) == (dec(0), dec(100))


@pytest.mark.parametrize("operation", OPERATIONS)
def test_another_stores_key_is_a_401(store, store_b, api, payment_a, operation):
    account_id, payment_id = payment_a
    b_on_a = Gateway(store.http, store, store_b.api(resources=(PAYMENT_PROVIDER,)).headers)
    b_main_on_a = Gateway(store.http, store, store_b.api().headers, provider_headers=False)

    for gateway in (b_on_a, b_main_on_a):
        response = call(gateway, operation, payment_id)
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "InvalidCredentials"
    untouched(api, account_id)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_no_credentials_or_bad_ones_are_a_401(store, api, payment_a, operation):
    account_id, payment_id = payment_a
    gateway = gateway_for(store)
    key, token = gateway.headers["X-PROVIDER-API-AppKey"], gateway.headers["X-PROVIDER-API-AppToken"]
    for headers in (
        {},
        {"X-PROVIDER-API-AppKey": key},
        {"X-PROVIDER-API-AppToken": token},
        {"X-PROVIDER-API-AppKey": key, "X-PROVIDER-API-AppToken": token + "x"},
        {"X-VTEX-API-AppKey": "vtexappkey-nobody", "X-VTEX-API-AppToken": token},
    ):
        response = call(gateway, operation, payment_id, headers={"Accept": "application/json", **headers})
        assert response.status_code == 401, (headers.keys(), response.text)
    untouched(api, account_id)


def test_a_revoked_key_is_a_401(database, store, payment_a):
    _, payment_id = payment_a
    gateway = gateway_for(store)
    assert call(gateway, "cancellations", new_id()).status_code == 404  # the key works, then
    with database.write() as session:
        auth_service.revoke_key(session, gateway.headers["X-PROVIDER-API-AppKey"])

    assert call(gateway, "cancellations", payment_id).status_code == 401


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_key_without_payment_provider_nor_main_access_is_a_403(store, api, payment_a, operation):
    account_id, payment_id = payment_a
    gateway = gateway_for(store, resources=(READ_ACCOUNTS, READ_CONFIGURATION))

    response = call(gateway, operation, payment_id)
    assert response.status_code == 403, response.text
    untouched(api, account_id)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/creditcontrol/accounts"),
        ("POST", "/api/creditcontrol/accounts"),
        ("GET", "/api/creditcontrol/storeconfig"),
        ("GET", "/api/creditcontrol/invoices"),
        ("GET", "/api/creditcontrol/checkout/settings"),
        ("GET", "/api/creditcontrol/checkout/payments/awaiting-approval"),
    ],
)
def test_the_payment_provider_key_opens_nothing_of_the_management_api(store, method, path):
    gateway = gateway_for(store, provider_headers=False)
    body = {"document": "1", "documentType": "CPF", "email": "x@example.com"} if method == "POST" else None

    response = store.http.request(method, path, headers=gateway.headers, json=body)
    assert response.status_code == 403, response.text


def test_the_payment_provider_key_cannot_pay_an_invoice_nor_place_a_hold(store, api, payment_a):
    account_id, _ = payment_a
    gateway = gateway_for(store, provider_headers=False)
    api_path = f"/api/creditcontrol/accounts/{account_id}"
    hold = {"value": 1, "settle": True, "installments": 1}

    assert store.http.post(f"{api_path}/transactions", json=hold, headers=gateway.headers).status_code == 403
    assert store.http.get(f"{api_path}/invoices", headers=gateway.headers).status_code == 403


@pytest.mark.parametrize("operation", OPERATIONS)
def test_an_unknown_store_is_a_404(store, payment_a, operation):
    _, payment_id = payment_a
    gateway = gateway_for(store)
    gateway.base = "/ppp/no-such-store"

    assert call(gateway, operation, payment_id).status_code == 404
    assert gateway.manifest().status_code == 404


@pytest.mark.parametrize("provider_headers", [True, False], ids=["X-PROVIDER-API", "X-VTEX-API"])
@pytest.mark.parametrize("resource", [PAYMENT_PROVIDER, MAIN_ACCESS])
def test_both_header_names_and_both_resources_work(store, api, provider_headers, resource):
    gateway = gateway_for(store, resources=(resource,), provider_headers=provider_headers)
    assert all(
        name.startswith("X-PROVIDER-API-" if provider_headers else "X-VTEX-API-")
        for name in gateway.headers
        if name.startswith("X-")
    )
    opened = open_account(api, credit_limit="1000")
    body = payment_body(value="100", installments=2, document=opened["document"], email=opened["email"])
    payment_id = body["paymentId"]

    assert assert_spec_answer(gateway.pay(body), path="/payments", status=200)["status"] == "approved"
    assert_spec_answer(
        gateway.settle(payment_id, "100"), path=f"/payments/{payment_id}/settlements", status=200
    )
    assert_spec_answer(gateway.refund(payment_id, "10"), path=f"/payments/{payment_id}/refunds", status=200)
    found = account(api, opened["id"])
    assert (dec(found["balance"]), dec(found["preAuthorizedCredit"])) == (dec(-90), dec(0))

    other = payment_body(value="5", document=opened["document"], email=opened["email"])
    assert gateway.pay(other).json()["status"] == "approved"
    cancelled = gateway.cancel(other["paymentId"])
    assert_spec_answer(cancelled, path=f"/payments/{other['paymentId']}/cancellations", status=200)


def test_payments_of_two_stores_never_meet(store, store_b, api, payment_a):
    """The same paymentId in two stores is two payments; each store's key sees its own."""
    account_id, payment_id = payment_a
    opened_b = open_account(store_b.api(), credit_limit="50")
    gateway_b = gateway_for(store_b)
    body = payment_body(
        value="20", payment_id=payment_id, document=opened_b["document"], email=opened_b["email"]
    )

    answer_b = assert_spec_answer(gateway_b.pay(body), path="/payments", status=200)
    assert answer_b["status"] == "approved"
    assert assert_spec_answer(
        gateway_b.cancel(payment_id), path=f"/payments/{payment_id}/cancellations", status=200
    )
    untouched(api, account_id)
    found_b = account(store_b.api(), opened_b["id"])
    assert dec(found_b["preAuthorizedCredit"]) == dec(0)
