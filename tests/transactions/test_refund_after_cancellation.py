"""Refunds never give back what a cancellation already released (domain.md, Refund): a refund
is at most settled − already refunded − already cancelled, and what exceeds the open invoices
comes back as balance only up to what was paid. Cancellations + refunds ≤ settled, always."""

import pytest

from customer_credit.ledger.service import recompute_mismatches
from tests.contract import is_error_shape
from tests.helpers import account, dec, open_account, purchase


def refund(api, account_id, transaction_id, value):
    return api.post(f"/accounts/{account_id}/transactions/{transaction_id}/refunds", json={"value": value})


def cancel(api, account_id, invoice_id, how):
    if how == "DELETE":
        return api.delete(f"/accounts/{account_id}/invoices/{invoice_id}")
    return api.put(f"/accounts/{account_id}/invoices/{invoice_id}", json={"status": "Cancelled"})


def pay(api, account_id, invoice_id, value=None):
    body = {"json": {"value": value}} if value is not None else {}
    response = api.post(f"/accounts/{account_id}/invoices/{invoice_id}/payments", **body)
    assert response.status_code == 200, response.text
    return response


def refused(response, code):
    assert response.status_code == 409, response.text
    assert is_error_shape(response)
    assert response.json()["error"]["code"] == code


def figures(api, account_id) -> tuple:
    """(balance, availableCredit)."""
    body = account(api, account_id)
    return dec(body["balance"]), dec(body["availableCredit"])


def ledger_values(api, account_id) -> list:
    response = api.get(f"/accounts/{account_id}/statements")
    assert response.status_code == 200, response.text
    return [(entry["origin"], dec(entry["value"])) for entry in response.json()["statements"]]


def invoice_states(api, account_id) -> list:
    response = api.get(f"/accounts/{account_id}/invoices", params={"from": 1, "to": 50})
    assert response.status_code == 200, response.text
    return [(i["status"], dec(i["value"]), dec(i["creditValue"])) for i in response.json()["data"]]


def books_are_clean(database, api) -> bool:
    with database.read() as session:
        return recompute_mismatches(session, api.store.id) == []


@pytest.mark.parametrize("how", ["DELETE", "PUT"])
def test_refund_after_the_invoice_was_cancelled_is_refused(api, database, how):
    opened = open_account(api, credit_limit="1000")
    transaction_id = purchase(api, opened["id"], "100")
    assert cancel(api, opened["id"], f"{transaction_id}-01", how).status_code == 200
    assert figures(api, opened["id"]) == (0, dec("1000"))

    refused(refund(api, opened["id"], transaction_id, "100"), "RefundExceedsSettlement")
    refused(refund(api, opened["id"], transaction_id, "0.01"), "RefundExceedsSettlement")
    assert figures(api, opened["id"]) == (0, dec("1000"))
    assert ledger_values(api, opened["id"]) == [("Invoice", dec("-100")), ("Invoice", dec("100"))]
    assert books_are_clean(database, api)


@pytest.mark.parametrize("how", ["DELETE", "PUT"])
def test_refund_after_a_partial_payment_and_a_cancellation_gives_back_only_what_was_paid(api, database, how):
    opened = open_account(api, credit_limit="1000")
    transaction_id = purchase(api, opened["id"], "100")
    pay(api, opened["id"], f"{transaction_id}-01", "40")
    # The cancellation releases the 60 still owed.
    assert cancel(api, opened["id"], f"{transaction_id}-01", how).status_code == 200
    assert figures(api, opened["id"]) == (0, dec("1000"))

    refused(refund(api, opened["id"], transaction_id, "40.01"), "RefundExceedsSettlement")
    refunded = refund(api, opened["id"], transaction_id, "40")
    assert refunded.status_code == 200, refunded.text
    assert dec(refunded.json()["value"]) == dec("40")
    # The 40 paid comes back as positive balance, and nothing more.
    assert figures(api, opened["id"]) == (dec("40"), dec("1040"))
    refused(refund(api, opened["id"], transaction_id, "0.01"), "RefundExceedsSettlement")
    assert books_are_clean(database, api)


def test_refund_over_installments_after_payments_and_cancellations(api, database):
    opened = open_account(api, credit_limit="1000")
    transaction_id = purchase(api, opened["id"], "90", installments=3)
    pay(api, opened["id"], f"{transaction_id}-01", "10")
    assert cancel(api, opened["id"], f"{transaction_id}-03", "DELETE").status_code == 200
    # Settled 90, cancelled 30: 60 left to refund; open 20 + 30, paid 10.
    assert figures(api, opened["id"]) == (dec("-50"), dec("950"))

    refused(refund(api, opened["id"], transaction_id, "60.01"), "RefundExceedsSettlement")
    assert refund(api, opened["id"], transaction_id, "25").status_code == 200
    assert refund(api, opened["id"], transaction_id, "35").status_code == 200
    assert invoice_states(api, opened["id"]) == [
        ("Paid", dec("10"), dec("10")),
        ("Cancelled", dec("0"), dec("0")),
        ("Cancelled", dec("30"), dec("0")),
    ]
    # −90 + 10 paid + 30 cancelled + 60 refunded: the 10 paid came back, nothing else.
    assert figures(api, opened["id"]) == (dec("10"), dec("1010"))
    refused(refund(api, opened["id"], transaction_id, "0.01"), "RefundExceedsSettlement")
    assert books_are_clean(database, api)


def test_cancelling_what_a_refund_left_open_still_releases_it(api, database):
    opened = open_account(api, credit_limit="1000")
    transaction_id = purchase(api, opened["id"], "100", installments=2)
    assert refund(api, opened["id"], transaction_id, "30").status_code == 200
    assert cancel(api, opened["id"], f"{transaction_id}-02", "PUT").status_code == 200
    assert cancel(api, opened["id"], f"{transaction_id}-01", "DELETE").status_code == 200
    assert figures(api, opened["id"]) == (0, dec("1000"))
    refused(refund(api, opened["id"], transaction_id, "0.01"), "RefundExceedsSettlement")
    assert books_are_clean(database, api)


def test_a_payment_given_back_by_a_refund_cannot_be_reversed(api, database):
    """Reversing it would reopen an invoice whose money the customer already got back;
    cancelling that invoice would then release it a second time."""
    opened = open_account(api, credit_limit="1000")
    transaction_id = purchase(api, opened["id"], "90", installments=3)
    first = f"{transaction_id}-01"
    pay(api, opened["id"], first)
    assert refund(api, opened["id"], transaction_id, "90").status_code == 200
    assert figures(api, opened["id"]) == (dec("30"), dec("1030"))
    entries = ledger_values(api, opened["id"])

    reversed_ = api.put(f"/accounts/{opened['id']}/invoices/{first}", json={"status": "Opened"})
    refused(reversed_, "PaymentAlreadyRefunded")
    assert ledger_values(api, opened["id"]) == entries
    assert invoice_states(api, opened["id"])[0] == ("Paid", dec("30"), dec("30"))
    assert books_are_clean(database, api)


def test_a_payment_not_given_back_can_still_be_reversed(api, database):
    opened = open_account(api, credit_limit="1000")
    transaction_id = purchase(api, opened["id"], "90", installments=3)
    first = f"{transaction_id}-01"
    pay(api, opened["id"], first)
    # 60 refunded: all of it taken off the open invoices, nothing given back.
    assert refund(api, opened["id"], transaction_id, "60").status_code == 200
    reversed_ = api.put(f"/accounts/{opened['id']}/invoices/{first}", json={"status": "Opened"})
    assert reversed_.status_code == 200, reversed_.text
    assert figures(api, opened["id"]) == (dec("-30"), dec("970"))
    assert cancel(api, opened["id"], first, "DELETE").status_code == 200
    assert figures(api, opened["id"]) == (0, dec("1000"))
    refused(refund(api, opened["id"], transaction_id, "0.01"), "RefundExceedsSettlement")
    assert books_are_clean(database, api)
