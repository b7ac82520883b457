"""The gateway's calls arriving at the same moment, on both databases (SQLite serializes the
writers; PostgreSQL lets them really race): a paymentId or a settlement's requestId sent several
times at once has one effect and one answer, racing payments never take more than the limit with
tolerance, and a new buyer's racing first purchases open one account."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from starlette.testclient import TestClient

from tests.checkout.support import (
    Gateway,
    assert_books_balance,
    gateway_for,
    holds_of_payment,
    new_id,
    payment_body,
)
from tests.helpers import account, configure, dec, open_account

ROUNDS = 3


def at_once(gateway: Gateway, calls) -> list:
    """Runs each call(gateway) in its own thread with its own HTTP client (its own event loop and
    database connection), released together by a barrier; returns the responses in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        client = TestClient(gateway.http.app, raise_server_exceptions=False)
        own = Gateway(client, gateway.store, gateway.headers, provider_headers=False)
        barrier.wait(timeout=10)
        return call(own)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=60) for future in futures]


def figures(api, account_id) -> tuple[Decimal, Decimal]:
    shown = account(api, account_id)
    return dec(shown["balance"]), dec(shown["preAuthorizedCredit"])


def test_the_same_payment_eight_times_at_once_holds_once(api, store, database):
    gateway = gateway_for(store)
    for _ in range(ROUNDS):
        # 60 of 100: a second hold would not fit, so a copy that ran the work again would
        # answer denied instead of the first answer.
        opened = open_account(api, credit_limit="100")
        body = payment_body(value="60", document=opened["document"], email=opened["email"])

        responses = at_once(gateway, [lambda own: own.pay(body)] * 8)

        assert [response.status_code for response in responses] == [200] * 8, [r.text for r in responses]
        answers = {response.content for response in responses}
        assert len(answers) == 1, answers
        assert responses[0].json()["status"] == "approved"
        assert gateway.pay(body).content in answers
        assert figures(api, opened["id"]) == (0, dec("60"))
        assert holds_of_payment(database, store, body["paymentId"]) == 1
    assert_books_balance(database, store)


def test_the_same_settlement_eight_times_at_once_issues_the_invoices_once(api, store, database):
    gateway = gateway_for(store)
    for _ in range(ROUNDS):
        opened = open_account(api, credit_limit="1000")
        body = payment_body(value="90", installments=3, document=opened["document"], email=opened["email"])
        authorization_id = gateway.pay(body).json()["authorizationId"]
        request_id = new_id()

        responses = at_once(
            gateway, [lambda own: own.settle(body["paymentId"], "90", request_id=request_id)] * 8
        )

        assert [response.status_code for response in responses] == [200] * 8, [r.text for r in responses]
        assert len({response.content for response in responses}) == 1
        listed = api.get(f"/accounts/{opened['id']}/invoices").json()
        assert [invoice["id"] for invoice in listed["data"]] == [
            f"{authorization_id}-0{k}" for k in (1, 2, 3)
        ]
        assert dec(listed["summary"]["total"]) == dec("90")
        statements = api.get(f"/accounts/{opened['id']}/statements").json()["statements"]
        assert [(entry["origin"], dec(entry["value"])) for entry in statements] == [("Invoice", dec("-90"))]
        assert figures(api, opened["id"]) == (dec("-90"), 0)
    assert_books_balance(database, store)


def _racing_payments(api, store, *, count: int, value: str, credit_limit: str, tolerance: str):
    configure(api, toleranceEnabled=True)
    gateway = gateway_for(store)
    opened = open_account(api, credit_limit=credit_limit, tolerance=tolerance)
    bodies = [
        payment_body(value=value, document=opened["document"], email=opened["email"]) for _ in range(count)
    ]
    responses = at_once(gateway, [lambda own, body=body: own.pay(body) for body in bodies])
    assert [response.status_code for response in responses] == [200] * count, [r.text for r in responses]
    return opened, [response.json() for response in responses]


def test_two_racing_payments_over_the_limit_with_tolerance_never_both_pass(api, store, database):
    for _ in range(ROUNDS):
        # 60 + 60 = 120 > 100 × (1 + 0.1): one fits, the other is denied.
        opened, answers = _racing_payments(
            api, store, count=2, value="60", credit_limit="100", tolerance="0.1"
        )

        assert Counter((a["status"], a["code"]) for a in answers) == {
            ("approved", "Approved"): 1,
            ("denied", "InsufficientCredit"): 1,
        }, answers
        assert figures(api, opened["id"]) == (0, dec("60"))
    assert_books_balance(database, store)


def test_ten_racing_payments_take_exactly_what_fits_in_the_limit_with_tolerance(api, store, database):
    for _ in range(ROUNDS):
        # 100 × (1 + 0.2) = 120 holds four payments of 30 (without the tolerance only three).
        opened, answers = _racing_payments(
            api, store, count=10, value="30", credit_limit="100", tolerance="0.2"
        )

        assert Counter(a["status"] for a in answers) == {"approved": 4, "denied": 6}, answers
        assert {a["code"] for a in answers if a["status"] == "denied"} == {"InsufficientCredit"}
        balance, held = figures(api, opened["id"])
        assert held == dec("120") <= dec("100") * (1 + dec("0.2"))
        assert balance == 0
        authorized = {a["authorizationId"] for a in answers if a["status"] == "approved"}
        assert len(authorized) == 4 and None not in authorized
    assert_books_balance(database, store)


def test_racing_first_purchases_of_a_new_buyer_open_one_account(api, store, database):
    configure(api, automaticCheckingAccountCreationEnabled=True, defaultCreditValue=1000)
    gateway = gateway_for(store)
    for round_number in range(ROUNDS):
        document = f"{new_id()[:6]}{round_number}".translate(str.maketrans("ABCDEF", "123456"))
        email = f"new-buyer-{document}@example.com"
        bodies = [payment_body(value="25", document=document, email=email) for _ in range(8)]

        responses = at_once(gateway, [lambda own, body=body: own.pay(body) for body in bodies])

        assert [response.status_code for response in responses] == [200] * 8, [
            r.text for r in responses if r.status_code != 200
        ]
        assert {response.json()["status"] for response in responses} == {"approved"}
        found = api.get("/accounts", params={"email": email}).json()
        assert found["summary"]["count"] == 1, found
        opened = found["data"][0]
        assert opened["id"] == f"{document}_CPF"
        assert dec(opened["creditLimit"]) == dec("1000")
        assert figures(api, opened["id"]) == (0, dec("200"))
    assert_books_balance(database, store)


def _under_review(api, store, *, value="150"):
    """Manual review on, an account of 100, and a purchase of `value` waiting for an operator."""
    response = api.put("/checkout/settings", json={"manualReviewEnabled": True})
    assert response.status_code == 200, response.text
    gateway = gateway_for(store)
    opened = open_account(api, credit_limit="100")
    # No callbackUrl: the worker runs of other tests on this shared database must find no
    # callback of ours to send (tests/checkout/test_manual_review.py tests the callbacks).
    body = payment_body(value=value, document=opened["document"], email=opened["email"], callback_url=None)
    answer = gateway.pay(body).json()
    assert answer["status"] == "undefined", answer
    return gateway, opened, body["paymentId"]


def test_two_operators_approving_at_once_approve_once(api, store, database):
    for _ in range(ROUNDS):
        gateway, opened, payment_id = _under_review(api, store)
        path = f"/api/creditcontrol/checkout/payments/{payment_id}/approval"

        responses = at_once(gateway, [lambda own: own.http.post(path, json={}, headers=api.headers)] * 2)

        assert sorted(response.status_code for response in responses) == [200, 409], [
            r.text for r in responses
        ]
        refusal = next(response for response in responses if response.status_code == 409)
        assert refusal.json()["error"]["code"] == "PaymentAlreadyDecided"
        assert gateway.pay(payment_body(value="150", payment_id=payment_id)).json()["status"] == "approved"
        assert figures(api, opened["id"]) == (0, dec("150"))
        assert holds_of_payment(database, store, payment_id) == 1
    assert_books_balance(database, store)


def test_an_approval_racing_vtex_cancellation_leaves_no_hold(api, store, database):
    outcomes = Counter()
    for _ in range(ROUNDS):
        gateway, opened, payment_id = _under_review(api, store)
        path = f"/api/creditcontrol/checkout/payments/{payment_id}/approval"

        approval, cancellation = at_once(
            gateway,
            [
                lambda own: own.http.post(path, json={}, headers=api.headers),
                lambda own: own.cancel(payment_id),
            ],
        )

        # Whichever locks the payment first wins; VTEX's cancellation always stands.
        assert cancellation.status_code == 200, cancellation.text
        assert approval.status_code in (200, 409), approval.text
        outcomes[approval.status_code] += 1
        shown = api.get(f"/checkout/payments/{payment_id}").json()
        assert shown["status"] == ("approved" if approval.status_code == 200 else "denied")
        assert figures(api, opened["id"]) == (0, 0)
    assert sum(outcomes.values()) == ROUNDS
    assert_books_balance(database, store)
