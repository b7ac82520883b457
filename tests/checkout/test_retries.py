"""VTEX retries every call it has no answer for: the same paymentId (POST /payments) or the same
requestId (settlements, cancellations, refunds) sent again gets the first answer and changes
nothing more. A refused operation is not remembered, so its retry succeeds once the cause is gone."""

from decimal import Decimal

from tests.checkout.support import (
    assert_books_balance,
    gateway_for,
    holds_of_payment,
    new_id,
    payment_body,
)
from tests.helpers import account, dec, open_account


def ok(response):
    assert response.status_code == 200, response.text
    return response.json()


def figures(api, account_id) -> tuple[Decimal, Decimal]:
    """(balance, preAuthorizedCredit) of the account."""
    shown = account(api, account_id)
    return dec(shown["balance"]), dec(shown["preAuthorizedCredit"])


def invoice_values(api, account_id) -> list[tuple[str, Decimal]]:
    listed = ok(api.get(f"/accounts/{account_id}/invoices"))["data"]
    return [(invoice["id"], dec(invoice["value"])) for invoice in listed]


def ledger(api, account_id) -> list[tuple[str, Decimal]]:
    entries = ok(api.get(f"/accounts/{account_id}/statements"))["statements"]
    return [(entry["origin"], dec(entry["value"])) for entry in entries]


def approved_payment(api, store, *, value="120.50", installments=3, credit_limit="500"):
    """An account, the gateway, and a payment approved on it."""
    opened = open_account(api, credit_limit=credit_limit)
    gateway = gateway_for(store)
    body = payment_body(
        value=value, installments=installments, document=opened["document"], email=opened["email"]
    )
    answer = ok(gateway.pay(body))
    assert answer["status"] == "approved", answer
    return opened["id"], gateway, body["paymentId"], answer


def test_the_same_payment_twice_answers_the_same_and_holds_once(api, store, database):
    account_id, gateway, payment_id, first = approved_payment(api, store)
    opened = account(api, account_id)
    # The same request again: VTEX sends it as it was (new transactionId fields aside).
    body = payment_body(
        value="120.50",
        installments=3,
        payment_id=payment_id,
        document=opened["document"],
        email=opened["email"],
    )

    again = ok(gateway.pay(body))

    assert again == first
    assert first["authorizationId"] and first["tid"]
    assert figures(api, account_id) == (0, dec("120.50"))
    assert holds_of_payment(database, store, payment_id) == 1
    assert_books_balance(database, store)


def test_a_retried_denial_stays_denied_after_the_credit_grows(api, store, database):
    opened = open_account(api, credit_limit="50")
    gateway = gateway_for(store)
    body = payment_body(value="80", document=opened["document"], email=opened["email"])
    first = ok(gateway.pay(body))
    assert (first["status"], first["code"]) == ("denied", "InsufficientCredit")
    ok(api.put(f"/accounts/{opened['id']}/creditlimit", json={"value": "500"}))

    # VTEX asked once; a retry of that same request is not a new purchase.
    again = ok(gateway.pay(body))

    assert again == first
    assert again["authorizationId"] is None
    assert figures(api, opened["id"]) == (0, 0)
    assert holds_of_payment(database, store, body["paymentId"]) == 0


def test_the_same_settlement_twice_issues_the_invoices_once(api, store, database):
    account_id, gateway, payment_id, authorized = approved_payment(api, store)
    request_id = new_id()

    first = ok(gateway.settle(payment_id, "120.50", request_id=request_id))
    issued = invoice_values(api, account_id)
    again = ok(gateway.settle(payment_id, "120.50", request_id=request_id))

    assert again == first
    assert (first["requestId"], dec(first["value"])) == (request_id, dec("120.50"))
    assert first["settleId"]
    transaction_id = authorized["authorizationId"]
    assert issued == [
        (f"{transaction_id}-01", dec("40.17")),
        (f"{transaction_id}-02", dec("40.17")),
        (f"{transaction_id}-03", dec("40.16")),
    ]
    assert invoice_values(api, account_id) == issued
    assert figures(api, account_id) == (dec("-120.50"), 0)
    assert ledger(api, account_id) == [("Invoice", dec("-120.50"))]
    assert_books_balance(database, store)


def test_a_second_settlement_with_the_same_value_changes_nothing_another_value_is_refused(
    api, store, database
):
    account_id, gateway, payment_id, _ = approved_payment(api, store)
    first = ok(gateway.settle(payment_id, "120.50"))
    issued = invoice_values(api, account_id)

    same_value = ok(gateway.settle(payment_id, "120.50", request_id=new_id()))
    other_value = gateway.settle(payment_id, "100.00", request_id=new_id())

    assert dec(same_value["value"]) == dec("120.50")
    assert same_value["requestId"] != first["requestId"]
    assert other_value.status_code == 500, other_value.text
    refusal = other_value.json()
    assert (refusal["code"], refusal["settleId"], refusal["paymentId"]) == (
        "PaymentAlreadySettled",
        None,
        payment_id,
    )
    assert invoice_values(api, account_id) == issued
    assert figures(api, account_id) == (dec("-120.50"), 0)
    assert ledger(api, account_id) == [("Invoice", dec("-120.50"))]
    assert_books_balance(database, store)


def test_the_same_cancellation_twice_answers_the_same_and_releases_once(api, store, database):
    account_id, gateway, payment_id, _ = approved_payment(api, store, value="60")
    request_id = new_id()

    first = ok(gateway.cancel(payment_id, request_id=request_id))
    again = ok(gateway.cancel(payment_id, request_id=request_id))

    assert again == first
    assert first["cancellationId"] and first["requestId"] == request_id
    assert figures(api, account_id) == (0, 0)
    assert invoice_values(api, account_id) == []
    assert holds_of_payment(database, store, payment_id) == 1
    # The cancelled payment's settlement is refused, and that refusal is not remembered either.
    refused = gateway.settle(payment_id, "60")
    assert refused.status_code == 500, refused.text
    assert_books_balance(database, store)


def test_the_same_refund_twice_is_applied_once(api, store, database):
    account_id, gateway, payment_id, authorized = approved_payment(api, store)
    settled = ok(gateway.settle(payment_id, "120.50"))
    request_id = new_id()

    first = ok(gateway.refund(payment_id, "30", request_id=request_id))
    again = ok(gateway.refund(payment_id, "30", request_id=request_id))

    assert again == first
    assert (first["requestId"], dec(first["value"])) == (request_id, dec("30"))
    assert first["refundId"]
    transaction_id = authorized["authorizationId"]
    # domain.md's allocation: the open invoices are lowered from the last installment back.
    assert invoice_values(api, account_id) == [
        (f"{transaction_id}-01", dec("40.17")),
        (f"{transaction_id}-02", dec("40.17")),
        (f"{transaction_id}-03", dec("10.16")),
    ]
    assert figures(api, account_id) == (dec("-90.50"), 0)
    assert ledger(api, account_id) == [("Invoice", dec("-120.50")), ("Invoice", dec("30"))]

    # Another requestId is another refund; the settlement's own retry still changes nothing.
    second = ok(gateway.refund(payment_id, "20", request_id=new_id()))
    assert second["refundId"] != first["refundId"]
    assert ok(gateway.settle(payment_id, "120.50", request_id=settled["requestId"])) == settled
    assert figures(api, account_id) == (dec("-70.50"), 0)
    assert [value for _, value in invoice_values(api, account_id)] == [dec("40.17"), dec("30.33"), 0]
    assert_books_balance(database, store)


def test_a_refused_refund_is_not_remembered(api, store, database):
    account_id, gateway, payment_id, _ = approved_payment(api, store)
    request_id = new_id()

    early = gateway.refund(payment_id, "30", request_id=request_id)
    assert early.status_code == 500, early.text
    assert (early.json()["code"], early.json()["refundId"]) == ("PaymentNotSettled", None)
    assert figures(api, account_id) == (0, dec("120.50"))

    ok(gateway.settle(payment_id, "120.50"))
    retried = ok(gateway.refund(payment_id, "30", request_id=request_id))

    assert (retried["requestId"], dec(retried["value"])) == (request_id, dec("30"))
    assert figures(api, account_id) == (dec("-90.50"), 0)
    assert ok(gateway.refund(payment_id, "30", request_id=request_id)) == retried
    assert figures(api, account_id) == (dec("-90.50"), 0)
    assert_books_balance(database, store)


def test_a_refund_too_large_changes_nothing_and_a_fitting_one_with_its_requestid_passes(api, store, database):
    account_id, gateway, payment_id, _ = approved_payment(api, store)
    ok(gateway.settle(payment_id, "120.50"))
    request_id = new_id()

    too_large = gateway.refund(payment_id, "120.51", request_id=request_id)

    assert too_large.status_code == 500, too_large.text
    assert too_large.json()["code"] == "RefundExceedsSettlement"
    assert figures(api, account_id) == (dec("-120.50"), 0)
    assert ledger(api, account_id) == [("Invoice", dec("-120.50"))]
    # VTEX retries with the same requestId; nothing was kept of the refusal.
    whole = ok(gateway.refund(payment_id, "120.50", request_id=request_id))
    assert dec(whole["value"]) == dec("120.50")
    assert figures(api, account_id) == (0, 0)
    assert_books_balance(database, store)
