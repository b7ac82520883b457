"""Settlements under payment conditions, through HTTP: due dates, the store's default, the
built-in 30-day rule unchanged, interest (invoices, ledger, balance, the books after paying and
refunding), repeats, re-settlements and unknown names."""

import pytest

from customer_credit.ledger.service import recompute_mismatches
from tests.helpers import account, configure, dec, open_account
from tests.payment_conditions.support import (
    due_offsets,
    held,
    invoices_of,
    make_condition,
    refused,
    settle,
    statements,
)


def settled_under(api, account_id: str, value, *, installments: int, **extra) -> tuple[str, dict]:
    transaction_id = held(api, account_id, value, installments=installments)
    response = settle(api, account_id, transaction_id, value, **extra)
    assert response.status_code == 200, response.text
    return transaction_id, response.json()


def books_are_right(database, store) -> bool:
    with database.read() as session:
        return recompute_mismatches(session, store.id) == []


# --- due dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("installments", "offsets"),
    [(3, [30, 60, 90]), (2, [30, 60]), (5, [30, 60, 90, 120, 150])],
)
def test_30_60_90_dates_the_installments(api, installments, offsets):
    make_condition(api, "30-60-90", [30, 60, 90])
    account_id = open_account(api, credit_limit="1000")["id"]
    transaction_id, _ = settled_under(
        api, account_id, "100", installments=installments, paymentCondition="30-60-90"
    )
    issued = invoices_of(api, account_id, transaction_id)
    assert due_offsets(issued) == offsets
    assert all(i["dueDate"] == i["originalDueDate"] for i in issued)
    assert sum(dec(i["value"]) for i in issued) == dec("100")


def test_every_15_days_after_the_first_at_45(api):
    make_condition(api, "45+15", [45], everyDays=15)
    account_id = open_account(api, credit_limit="1000")["id"]
    transaction_id, _ = settled_under(api, account_id, "100", installments=4, paymentCondition="45+15")
    assert due_offsets(invoices_of(api, account_id, transaction_id)) == [45, 60, 75, 90]


def test_the_store_default_applies_to_settlements_that_name_none(api):
    make_condition(api, "45+15", [45], everyDays=15, default=True)
    make_condition(api, "weekly", [7], everyDays=7)
    account_id = open_account(api, credit_limit="1000")["id"]

    by_default, _ = settled_under(api, account_id, "90", installments=3)
    assert due_offsets(invoices_of(api, account_id, by_default)) == [45, 60, 75]
    named, _ = settled_under(api, account_id, "90", installments=3, paymentCondition="weekly")
    assert due_offsets(invoices_of(api, account_id, named)) == [7, 14, 21]

    entries = statements(api, account_id)
    assert [e["metadata"].get("paymentCondition") for e in entries] == ["45+15", "weekly"]
    assert all("interest" not in e["metadata"] for e in entries)


def test_without_any_condition_installments_are_30_days_apart_as_before(api):
    account_id = open_account(api, credit_limit="1000")["id"]
    transaction_id, answer = settled_under(api, account_id, "100", installments=4)
    assert answer == {"id": transaction_id, "value": 100}
    issued = invoices_of(api, account_id, transaction_id)
    assert due_offsets(issued) == [30, 60, 90, 120]
    assert [dec(i["value"]) for i in issued] == [dec("25")] * 4
    (entry,) = statements(api, account_id)
    assert dec(entry["value"]) == dec("-100")
    assert set(entry["metadata"]) == {"transactionId", "orderId", "numberOfInstallments"}
    assert dec(account(api, account_id)["balance"]) == dec("-100")


def test_a_condition_that_is_not_default_changes_nothing_for_settlements_that_name_none(api):
    make_condition(api, "weekly", [7], everyDays=7, interestRatePerInstallment="0.05")
    account_id = open_account(api, credit_limit="1000")["id"]
    transaction_id, answer = settled_under(api, account_id, "100", installments=2)
    assert answer == {"id": transaction_id, "value": 100}
    assert due_offsets(invoices_of(api, account_id, transaction_id)) == [30, 60]


# --- interest ------------------------------------------------------------------------------


def test_interest_is_added_to_the_invoices_the_ledger_and_the_balance(api, database, store):
    make_condition(api, "3x 1%", [30, 60, 90], interestRatePerInstallment="0.01")
    # The limit is exactly the principal: the interest is not checked against it.
    account_id = open_account(api, credit_limit="100")["id"]
    transaction_id, answer = settled_under(api, account_id, "100", installments=3, paymentCondition="3x 1%")
    assert answer == {"id": transaction_id, "value": 102, "interest": 2}

    issued = invoices_of(api, account_id, transaction_id)
    # Parts 33.34, 33.33, 33.33; interest 1 × 1% → 0.33, 2 × 1% → 0.67, 3 × 1% → 1.00.
    assert [dec(i["value"]) for i in issued] == [dec("33.67"), dec("34.00"), dec("34.33")]
    assert [i["numberOfInstallments"] for i in issued] == [3, 3, 3]

    (entry,) = statements(api, account_id)
    assert (entry["origin"], dec(entry["value"])) == ("Invoice", dec("-102"))
    assert entry["metadata"]["interest"] == "2.00"
    assert entry["metadata"]["paymentCondition"] == "3x 1%"
    assert entry["metadata"]["numberOfInstallments"] == 3

    figures = account(api, account_id)
    assert dec(figures["balance"]) == dec("-102")
    assert dec(figures["preAuthorizedCredit"]) == 0
    assert dec(figures["availableCredit"]) == dec("-2")
    assert books_are_right(database, store)


def test_the_books_stay_right_after_paying_and_refunding_a_settlement_with_interest(api, database, store):
    make_condition(api, "3x 1%", [30, 60, 90], interestRatePerInstallment="0.01")
    account_id = open_account(api, credit_limit="1000")["id"]
    transaction_id, _ = settled_under(api, account_id, "100", installments=3, paymentCondition="3x 1%")
    first = f"{transaction_id}-01"
    paid = api.post(f"/accounts/{account_id}/invoices/{first}/payments")
    assert paid.status_code == 200, paid.text
    assert dec(account(api, account_id)["balance"]) == dec("-68.33")
    assert books_are_right(database, store)

    refunds = f"/accounts/{account_id}/transactions/{transaction_id}/refunds"
    assert api.post(refunds, json={"value": "34.33"}).status_code == 200  # the last invoice
    assert books_are_right(database, store)
    # The rest: the open 34.00, then the paid 33.67 back to the balance; nothing more.
    assert api.post(refunds, json={"value": "67.67"}).status_code == 200
    refused(api.post(refunds, json={"value": "0.01"}), 409, "RefundExceedsSettlement")
    # What was paid, interest included, is the customer's again.
    assert dec(account(api, account_id)["balance"]) == dec("33.67")
    assert [i["status"] for i in invoices_of(api, account_id, transaction_id)] == [
        "Paid",
        "Cancelled",
        "Cancelled",
    ]
    assert books_are_right(database, store)


def test_a_repeat_of_the_settlement_changes_nothing(api, database, store):
    make_condition(api, "2x 5%", [30, 60], interestRatePerInstallment="0.05")
    account_id = open_account(api, credit_limit="1000")["id"]
    transaction_id, first = settled_under(api, account_id, "100", installments=2, paymentCondition="2x 5%")
    # 50 × 5% + 50 × 10%.
    assert first == {"id": transaction_id, "value": 107.5, "interest": 7.5}
    issued = invoices_of(api, account_id, transaction_id)
    for again in (
        settle(api, account_id, transaction_id, "100.00"),
        settle(api, account_id, transaction_id, "100", paymentCondition="2x 5%"),
    ):
        assert again.status_code == 200, again.text
        assert again.json() == first
    assert invoices_of(api, account_id, transaction_id) == issued
    assert len(statements(api, account_id)) == 1
    assert dec(account(api, account_id)["balance"]) == dec("-107.5")
    assert books_are_right(database, store)


def test_a_settlement_with_interest_cannot_change_its_value(api):
    configure(api, maxPreAuthorizationGrowthRate="0.5")
    make_condition(api, "2x 5%", [30, 60], interestRatePerInstallment="0.05")
    account_id = open_account(api, credit_limit="1000")["id"]
    transaction_id, _ = settled_under(api, account_id, "100", installments=2, paymentCondition="2x 5%")
    issued = invoices_of(api, account_id, transaction_id)
    for value in ("90", "120", "107.50"):
        error = refused(settle(api, account_id, transaction_id, value), 409, "SettlementHasInterest")
        assert "refund" in error["message"]
    assert invoices_of(api, account_id, transaction_id) == issued
    assert len(statements(api, account_id)) == 1


def test_a_settlement_cannot_switch_to_another_condition(api):
    make_condition(api, "weekly", [7], everyDays=7)
    make_condition(api, "monthly", [30])
    account_id = open_account(api, credit_limit="1000")["id"]
    transaction_id, _ = settled_under(api, account_id, "100", installments=2, paymentCondition="weekly")
    refused(
        settle(api, account_id, transaction_id, "100", paymentCondition="monthly"),
        409,
        "PaymentConditionMismatch",
    )
    plain, _ = settled_under(api, account_id, "100", installments=2)
    refused(settle(api, account_id, plain, "100", paymentCondition="weekly"), 409, "PaymentConditionMismatch")
    assert len(statements(api, account_id)) == 2


def test_an_unknown_condition_is_a_404_and_the_hold_stays(api):
    account_id = open_account(api, credit_limit="1000")["id"]
    transaction_id = held(api, account_id, "100", installments=2)
    error = refused(
        settle(api, account_id, transaction_id, "100", paymentCondition="nope"),
        404,
        "PaymentConditionNotFound",
    )
    assert "nope" in error["message"]
    figures = account(api, account_id)
    assert (dec(figures["balance"]), dec(figures["preAuthorizedCredit"])) == (0, dec("100"))
    assert invoices_of(api, account_id, transaction_id) == []
    assert statements(api, account_id) == []


@pytest.mark.parametrize("bad", [5, True, ["weekly"], {"name": "weekly"}])
def test_the_condition_name_must_be_a_string(api, bad):
    account_id = open_account(api, credit_limit="1000")["id"]
    transaction_id = held(api, account_id, "100", installments=1)
    error = refused(settle(api, account_id, transaction_id, "100", paymentCondition=bad), 400)
    assert [d["field"] for d in error["details"]] == ["paymentCondition"]


# --- re-settlements without interest -------------------------------------------------------


def test_a_higher_resettlement_dates_its_new_invoices_by_the_stored_condition(api, database, store):
    configure(api, maxPreAuthorizationGrowthRate="0.5")
    make_condition(api, "45+15", [45], everyDays=15)
    account_id = open_account(api, credit_limit="1000")["id"]
    transaction_id, _ = settled_under(api, account_id, "100", installments=2, paymentCondition="45+15")

    raised = settle(api, account_id, transaction_id, "130")
    assert raised.json() == {"id": transaction_id, "value": 130}
    issued = invoices_of(api, account_id, transaction_id)
    assert [i["installment"] for i in issued] == [1, 2, 3, 4]
    # The new ones are a plan of their own, from the re-settlement.
    assert due_offsets(issued) == [45, 60, 45, 60]
    assert statements(api, account_id)[-1]["metadata"]["paymentCondition"] == "45+15"

    # Once the condition is gone, further invoices follow the built-in rule.
    assert api.delete("/paymentconditions/45+15").status_code == 200
    assert settle(api, account_id, transaction_id, "140").status_code == 200
    issued = invoices_of(api, account_id, transaction_id)
    assert due_offsets(issued[4:]) == [30, 60]
    assert "paymentCondition" not in statements(api, account_id)[-1]["metadata"]
    assert dec(account(api, account_id)["balance"]) == dec("-140")
    assert books_are_right(database, store)


def test_a_lower_resettlement_under_a_condition_without_interest_lowers_invoices(api, database, store):
    make_condition(api, "weekly", [7], everyDays=7)
    account_id = open_account(api, credit_limit="1000")["id"]
    transaction_id, _ = settled_under(api, account_id, "100", installments=2, paymentCondition="weekly")
    lowered = settle(api, account_id, transaction_id, "70", paymentCondition="weekly")
    assert lowered.json() == {"id": transaction_id, "value": 70}
    assert [dec(i["value"]) for i in invoices_of(api, account_id, transaction_id)] == [dec("50"), dec("20")]
    assert set(statements(api, account_id)[-1]["metadata"]) == {
        "transactionId",
        "orderId",
        "numberOfInstallments",
        "settlementChange",
    }
    assert books_are_right(database, store)


def test_interest_a_condition_gained_since_applies_to_a_resettlements_new_invoices(api, database, store):
    configure(api, maxPreAuthorizationGrowthRate="1")
    make_condition(api, "monthly", [30])
    account_id = open_account(api, credit_limit="1000")["id"]
    transaction_id, _ = settled_under(api, account_id, "100", installments=2, paymentCondition="monthly")
    make_condition(api, "monthly", [30], interestRatePerInstallment="0.1")

    raised = settle(api, account_id, transaction_id, "200")
    # The difference, 100, in two: 50 + 5 and 50 + 10.
    assert raised.json() == {"id": transaction_id, "value": 215, "interest": 15}
    issued = invoices_of(api, account_id, transaction_id)
    assert [dec(i["value"]) for i in issued] == [dec("50"), dec("50"), dec("55"), dec("60")]
    entry = statements(api, account_id)[-1]
    assert (dec(entry["value"]), entry["metadata"]["interest"]) == (dec("-115"), "15.00")
    assert dec(account(api, account_id)["balance"]) == dec("-215")
    # It now bears interest: the same value is a repeat, another one is refused.
    assert settle(api, account_id, transaction_id, "200").json() == raised.json()
    refused(settle(api, account_id, transaction_id, "150"), 409, "SettlementHasInterest")
    assert books_are_right(database, store)
