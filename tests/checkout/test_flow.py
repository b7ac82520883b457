"""A simulated VTEX checkout, end to end over HTTP: the gateway's payment, settlement and
refunds on /ppp/{store}, the buyer's invoices paid through the management API, and the
account's figures checked after every step; the books agree with the ledger at the end.
Then the growth rule: a partial settlement, and a settlement above the authorization."""

from datetime import timedelta

import pytest

from customer_credit.checkout import service
from tests.checkout.support import assert_books_balance, assert_spec_answer, gateway_for, payment_body
from tests.helpers import account, configure, dec, open_account
from tests.payment_conditions.support import make_condition, statements, when

CONDITION = "30-60-90"


def figures(api, account_id: str) -> tuple:
    """(balance, availableCredit, preAuthorizedCredit), exact."""
    found = account(api, account_id)
    return dec(found["balance"]), dec(found["availableCredit"]), dec(found["preAuthorizedCredit"])


def invoices(api, account_id: str) -> list[dict]:
    response = api.get(f"/accounts/{account_id}/invoices")
    assert response.status_code == 200, response.text
    return sorted(response.json()["data"], key=lambda invoice: invoice["installment"])


def states(api, account_id: str) -> list[tuple]:
    return [(i["status"], dec(i["value"]), dec(i["creditValue"])) for i in invoices(api, account_id)]


def pay_invoice(api, account_id: str, invoice_id: str) -> dict:
    response = api.post(f"/accounts/{account_id}/invoices/{invoice_id}/payments")
    assert response.status_code == 200, response.text
    return response.json()


def approved_payment(gateway, buyer: dict, value: str, *, installments: int = 1, condition=None):
    settings = [{"name": service.PAYMENT_CONDITION_FIELD, "value": condition}] if condition else None
    body = payment_body(
        value=value,
        installments=installments,
        document=buyer["document"],
        email=buyer["email"],
        merchant_settings=settings,
    )
    answer = assert_spec_answer(gateway.pay(body), path="/payments", status=200)
    assert answer["status"] == "approved", answer
    return body, answer


def settled(gateway, payment_id: str, value: str) -> dict:
    return assert_spec_answer(
        gateway.settle(payment_id, value), path=f"/payments/{payment_id}/settlements", status=200
    )


def refunded(gateway, payment_id: str, value: str) -> dict:
    return assert_spec_answer(
        gateway.refund(payment_id, value), path=f"/payments/{payment_id}/refunds", status=200
    )


def test_a_full_checkout_under_a_30_60_90_condition(database, store, api, frozen_clock):
    # The app's clock stands still, so days overdue and late interest stay at 0 throughout.
    make_condition(api, CONDITION, [30, 60, 90])
    buyer = open_account(api, credit_limit="1000")
    account_id = buyer["id"]
    gateway = gateway_for(store)

    body, answer = approved_payment(gateway, buyer, "300.00", installments=3, condition=CONDITION)
    payment_id = body["paymentId"]
    assert figures(api, account_id) == (dec(0), dec(700), dec(300))
    assert invoices(api, account_id) == []

    # The settlement happens at the app's clock (not the wall clock): the due dates count from it.
    settlement_moment = frozen_clock() + timedelta(days=3)
    frozen_clock.set(settlement_moment)
    settlement = settled(gateway, payment_id, "300.00")
    assert dec(settlement["value"]) == dec(300)
    assert figures(api, account_id) == (dec(-300), dec(700), dec(0))
    issued = invoices(api, account_id)
    assert [invoice["id"] for invoice in issued] == [f"{answer['authorizationId']}-0{k}" for k in (1, 2, 3)]
    assert states(api, account_id) == [("Opened", dec(100), dec(0))] * 3
    settled_at = when(issued[0]["createdAt"])
    assert settled_at == settlement_moment
    for invoice, days in zip(issued, (30, 60, 90), strict=True):
        assert when(invoice["createdAt"]) == settled_at
        assert (
            when(invoice["dueDate"]) == when(invoice["originalDueDate"]) == settled_at + timedelta(days=days)
        )
        assert (invoice["orderId"], invoice["numberOfInstallments"]) == (body["orderId"], 3)
        assert (invoice["daysOverdue"], dec(invoice["interest"])) == (0, dec(0))
        assert (invoice["paymentId"], invoice["reference"]) == (payment_id, body["reference"])
    entry = statements(api, account_id)[-1]
    assert (entry["origin"], dec(entry["value"])) == ("Invoice", dec(-300))
    assert entry["metadata"]["paymentCondition"] == CONDITION
    assert entry["metadata"]["orderId"] == body["orderId"]

    paid = pay_invoice(api, account_id, issued[0]["id"])
    assert (paid["status"], dec(paid["creditValue"])) == ("Paid", dec(100))
    assert figures(api, account_id) == (dec(-200), dec(800), dec(0))

    # Part of the order comes back: the open invoices go down from the last one back.
    assert dec(refunded(gateway, payment_id, "150.00")["value"]) == dec(150)
    assert states(api, account_id) == [
        ("Paid", dec(100), dec(100)),
        ("Opened", dec(50), dec(0)),
        ("Cancelled", dec(0), dec(0)),
    ]
    assert figures(api, account_id) == (dec(-50), dec(950), dec(0))

    pay_invoice(api, account_id, issued[1]["id"])
    assert states(api, account_id)[1] == ("Paid", dec(50), dec(50))
    assert figures(api, account_id) == (dec(0), dec(1000), dec(0))

    # The rest comes back too: nothing is open, so what was paid returns as a positive balance.
    assert dec(refunded(gateway, payment_id, "150.00")["value"]) == dec(150)
    assert figures(api, account_id) == (dec(150), dec(1150), dec(0))
    too_much = assert_spec_answer(
        gateway.refund(payment_id, "0.01"), path=f"/payments/{payment_id}/refunds", status=500
    )
    assert too_much["refundId"] is None
    assert figures(api, account_id) == (dec(150), dec(1150), dec(0))

    summary = api.get(f"/accounts/{account_id}/invoices").json()["summary"]
    assert (summary["count"], dec(summary["total"]), dec(summary["totalPaid"])) == (3, dec(0), dec(150))
    assert_books_balance(database, store)


def test_a_condition_other_than_the_built_in_steps_dates_the_invoices(database, store, api):
    make_condition(api, "15-45", [15, 45])
    buyer = open_account(api, credit_limit="1000")
    gateway = gateway_for(store)
    body, _ = approved_payment(gateway, buyer, "90.01", installments=2, condition="15-45")

    settled(gateway, body["paymentId"], "90.01")
    issued = invoices(api, buyer["id"])
    assert [dec(invoice["value"]) for invoice in issued] == [dec("45.01"), dec("45.00")]
    assert [when(i["dueDate"]) - when(i["createdAt"]) for i in issued] == [
        timedelta(days=15),
        timedelta(days=45),
    ]
    assert_books_balance(database, store)


def test_without_a_condition_the_invoices_keep_the_30_day_steps(database, store, api):
    buyer = open_account(api, credit_limit="1000")
    gateway = gateway_for(store)
    body, _ = approved_payment(gateway, buyer, "40", installments=2)

    settled(gateway, body["paymentId"], "40")
    issued = invoices(api, buyer["id"])
    assert [when(i["dueDate"]) - when(i["createdAt"]) for i in issued] == [
        timedelta(days=30),
        timedelta(days=60),
    ]
    assert "paymentCondition" not in statements(api, buyer["id"])[-1]["metadata"]


def test_a_partial_settlement_releases_the_rest(database, store, api):
    buyer = open_account(api, credit_limit="1000")
    gateway = gateway_for(store)
    body, _ = approved_payment(gateway, buyer, "200.00", installments=2)
    assert figures(api, buyer["id"]) == (dec(0), dec(800), dec(200))

    assert dec(settled(gateway, body["paymentId"], "150.00")["value"]) == dec(150)

    assert figures(api, buyer["id"]) == (dec(-150), dec(850), dec(0))
    assert [(status, value) for status, value, _ in states(api, buyer["id"])] == [("Opened", dec(75))] * 2
    assert_books_balance(database, store)


@pytest.mark.parametrize(("value", "growth"), [("110.00", dec(10)), ("100.01", dec("0.01"))])
def test_settling_more_than_authorized_within_the_growth_rate(database, store, api, value, growth):
    configure(api, maxPreAuthorizationGrowthRate=0.1)
    buyer = open_account(api, credit_limit="1000")
    gateway = gateway_for(store)
    body, _ = approved_payment(gateway, buyer, "100.00")

    assert dec(settled(gateway, body["paymentId"], value)["value"]) == dec(value)

    assert figures(api, buyer["id"]) == (-dec(value), dec(900) - growth, dec(0))
    assert [dec(invoice["value"]) for invoice in invoices(api, buyer["id"])] == [dec(value)]
    assert_books_balance(database, store)


def test_settling_beyond_the_growth_rate_is_refused_and_changes_nothing(database, store, api):
    configure(api, maxPreAuthorizationGrowthRate=0.1)
    buyer = open_account(api, credit_limit="1000")
    gateway = gateway_for(store)
    body, _ = approved_payment(gateway, buyer, "100.00")
    payment_id = body["paymentId"]

    refusal = assert_spec_answer(
        gateway.settle(payment_id, "110.01"), path=f"/payments/{payment_id}/settlements", status=500
    )
    assert (refusal["code"], refusal["settleId"], refusal["paymentId"]) == (
        "GrowthLimitExceeded",
        None,
        payment_id,
    )
    assert figures(api, buyer["id"]) == (dec(0), dec(900), dec(100))
    assert invoices(api, buyer["id"]) == []

    # The hold is still there: a settlement within the limit goes through.
    settled(gateway, payment_id, "110.00")
    assert figures(api, buyer["id"]) == (dec(-110), dec(890), dec(0))
    assert_books_balance(database, store)


def test_without_growth_a_cent_more_than_authorized_is_refused(database, store, api):
    buyer = open_account(api, credit_limit="1000")
    gateway = gateway_for(store)
    body, _ = approved_payment(gateway, buyer, "100.00")

    refusal = assert_spec_answer(
        gateway.settle(body["paymentId"], "100.01"),
        path=f"/payments/{body['paymentId']}/settlements",
        status=500,
    )
    assert refusal["code"] == "GrowthLimitExceeded"
    assert figures(api, buyer["id"]) == (dec(0), dec(900), dec(100))
