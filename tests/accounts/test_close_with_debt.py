"""Closing refuses while the customer owes money (domain.md, Closing): a manual debit is a
debt too, even with no invoices and no holds."""

import uuid

from tests.contract import is_error_shape
from tests.helpers import account, open_account, purchase


def debit(api, account_id, value):
    response = api.put(f"/accounts/{account_id}/statements/{uuid.uuid4().hex}", json={"value": value})
    assert response.status_code == 200, response.text


def test_close_is_refused_while_a_manual_debit_leaves_the_balance_negative(api):
    opened = open_account(api, credit_limit="100")
    debit(api, opened["id"], "-15")
    refused = api.delete(f"/accounts/{opened['id']}")
    assert refused.status_code == 409, refused.text
    assert is_error_shape(refused)
    error = refused.json()["error"]
    assert error["code"] == "AccountOwesMoney"
    assert "owes 15" in error["message"]
    assert account(api, opened["id"])["status"] == "Open"


def test_close_is_allowed_with_a_zero_or_positive_balance(api):
    opened = open_account(api, credit_limit="100")
    transaction_id = purchase(api, opened["id"], "30")
    paid = api.post(f"/accounts/{opened['id']}/invoices/{transaction_id}-01/payments")
    assert paid.status_code == 200, paid.text
    # The paid 30 comes back as positive balance.
    refunded = api.post(
        f"/accounts/{opened['id']}/transactions/{transaction_id}/refunds", json={"value": "30"}
    )
    assert refunded.status_code == 200, refunded.text
    assert account(api, opened["id"])["balance"] == 30
    closed = api.delete(f"/accounts/{opened['id']}")
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "Closed"
