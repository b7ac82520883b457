"""Purchases on credit through HTTP: holds (ceiling, tolerance, growth, cancel, expiry date),
settlements (first, repeated, lowered, raised) and refunds."""

import uuid
from datetime import datetime, timedelta

import pytest

from tests.contract import assert_matches, is_error_shape
from tests.helpers import account, configure, dec, hold, open_account, purchase

ACCOUNTS = "/api/creditcontrol/accounts"
HOLDS = f"{ACCOUNTS}/{{creditAccountId}}/transactions"
HOLD = f"{HOLDS}/{{transactionId}}"
SETTLEMENT = f"{HOLD}/settlement"
REFUNDS = f"{HOLD}/refunds"


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def refused(response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert is_error_shape(response)
    if code is not None:
        assert response.json()["error"]["code"] == code


def figures(api, account_id) -> tuple:
    """(balance, preAuthorizedCredit, availableCredit, availableBalance) as Decimals."""
    body = account(api, account_id)
    return tuple(
        dec(body[name]) for name in ("balance", "preAuthorizedCredit", "availableCredit", "availableBalance")
    )


def ledger(api, account_id) -> list[dict]:
    response = api.get(f"/accounts/{account_id}/statements")
    assert response.status_code == 200, response.text
    return response.json()["statements"]


def invoices(api, account_id) -> list[dict]:
    response = api.get(f"/accounts/{account_id}/invoices", params={"from": 1, "to": 200})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def settle(api, account_id, transaction_id, value):
    return api.put(f"/accounts/{account_id}/transactions/{transaction_id}/settlement", json={"value": value})


def new_id() -> str:
    return uuid.uuid4().hex.upper()


# --- holds: the ceiling ---------------------------------------------------------------------


def test_hold_up_to_available_credit_and_not_a_cent_more(api):
    opened = open_account(api, credit_limit="100")
    taken = hold(api, opened["id"], "60.50")
    assert_matches("post", HOLDS, taken)
    assert dec(taken.json()["value"]) == dec("60.50")
    assert taken.json()["installments"] == 1

    refused(hold(api, opened["id"], "39.51"), 409, "InsufficientCredit")
    assert hold(api, opened["id"], "39.50").status_code == 200
    refused(hold(api, opened["id"], "0.01"), 409, "InsufficientCredit")
    assert figures(api, opened["id"]) == (0, dec("100"), 0, dec("100"))


def test_hold_counts_in_pre_authorized_credit_at_once(api):
    opened = open_account(api, credit_limit="1000")
    purchase(api, opened["id"], "200")
    assert hold(api, opened["id"], "150.25").status_code == 200
    balance, held, available_credit, available_balance = figures(api, opened["id"])
    assert balance == dec("-200")
    assert held == dec("150.25")
    assert available_balance == dec("800")
    assert available_credit == dec("649.75")
    # No ledger entry for a hold: only the settlement's.
    assert [entry["origin"] for entry in ledger(api, opened["id"])] == ["Invoice"]


def test_tolerance_only_counts_when_the_store_enables_it(api):
    opened = open_account(api, credit_limit="100", tolerance="0.1")
    purchase(api, opened["id"], "30")
    # availableCredit 70; with tolerance the ceiling is 70 + 100 × 0.1 = 80.
    refused(hold(api, opened["id"], "70.01"), 409, "InsufficientCredit")

    configure(api, toleranceEnabled=True)
    refused(hold(api, opened["id"], "80.01"), 409, "InsufficientCredit")
    assert hold(api, opened["id"], "80").status_code == 200
    balance, held, available_credit, _ = figures(api, opened["id"])
    assert (balance, held, available_credit) == (dec("-30"), dec("80"), dec("-10"))
    refused(hold(api, opened["id"], "0.01"), 409, "InsufficientCredit")

    configure(api, toleranceEnabled=False)
    refused(hold(api, opened["id"], "0.01"), 409, "InsufficientCredit")


def test_hold_on_unknown_account_is_404(api, other_api):
    refused(hold(api, "00000000000_CPF", "1"), 404)
    opened = open_account(api)
    refused(hold(other_api, opened["id"], "1"), 404)


@pytest.mark.parametrize("value", [0, "-1", "1.001", "NaN", "abc", None])
def test_hold_value_must_be_a_positive_amount(api, value):
    opened = open_account(api)
    refused(hold(api, opened["id"], value), 400)
    assert figures(api, opened["id"])[1] == 0


@pytest.mark.parametrize("installments", [0, 100, -1, 1.5, "x"])
def test_installments_outside_1_to_99_are_refused(api, installments):
    opened = open_account(api)
    refused(hold(api, opened["id"], "10", installments=installments), 400)
    refused(
        api.put(
            f"/accounts/{opened['id']}/transactions/{new_id()}",
            json={"value": "10", "settle": True, "installments": installments},
        ),
        400,
    )
    assert figures(api, opened["id"])[1] == 0


def test_installments_1_and_99_are_accepted(api):
    opened = open_account(api)
    for installments in (1, 99):
        taken = hold(api, opened["id"], "99", installments=installments)
        assert taken.status_code == 200, taken.text
        assert taken.json()["installments"] == installments
    transaction_id = taken.json()["id"]
    assert settle(api, opened["id"], transaction_id, "99").status_code == 200
    issued = [i for i in invoices(api, opened["id"]) if i["transactionId"] == transaction_id]
    assert len(issued) == 99
    assert issued[-1]["id"] == f"{transaction_id}-99"
    assert all(dec(i["value"]) == 1 for i in issued)


def test_expiration_date_in_the_past_is_refused(api, frozen_clock):
    opened = open_account(api)
    past = (frozen_clock() - timedelta(minutes=1)).isoformat()
    refused(hold(api, opened["id"], "10", expirationDate=past), 400)
    refused(hold(api, opened["id"], "10", expirationDate="tomorrow"), 400)
    future = (frozen_clock() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    taken = hold(api, opened["id"], "10", expirationDate=future)
    assert_matches("post", HOLDS, taken)
    assert when(taken.json()["expirationDate"]) == when(future)
    assert figures(api, opened["id"])[1] == dec("10")


# --- holds: create or update by id, growth, cancel ----------------------------------------------


def test_put_by_id_creates_then_updates_the_hold(api):
    opened = open_account(api, credit_limit="500")
    transaction_id = new_id()
    path = f"/accounts/{opened['id']}/transactions/{transaction_id}"
    created = api.put(path, json={"value": "100", "settle": True, "installments": 2})
    assert_matches("put", HOLD, created)
    assert created.json()["id"] == transaction_id
    assert figures(api, opened["id"])[1] == dec("100")

    lowered = api.put(path, json={"value": "40", "settle": True, "installments": 3})
    assert_matches("put", HOLD, lowered)
    assert dec(lowered.json()["value"]) == dec("40")
    assert lowered.json()["installments"] == 3
    assert figures(api, opened["id"])[1] == dec("40")

    # Back up to the original value is no growth beyond it (growth rate 0).
    assert api.put(path, json={"value": "100", "settle": True, "installments": 3}).status_code == 200
    assert figures(api, opened["id"])[1] == dec("100")

    # The settlement uses the updated installments.
    assert settle(api, opened["id"], transaction_id, "100").status_code == 200
    assert [i["id"] for i in invoices(api, opened["id"])] == [f"{transaction_id}-0{k}" for k in (1, 2, 3)]


def test_hold_growth_is_limited_by_the_store_growth_rate(api):
    configure(api, maxPreAuthorizationGrowthRate="0.1")
    opened = open_account(api, credit_limit="500")
    transaction_id = hold(api, opened["id"], "100").json()["id"]
    path = f"/accounts/{opened['id']}/transactions/{transaction_id}"

    refused(
        api.put(path, json={"value": "110.01", "settle": True, "installments": 1}), 409, "GrowthLimitExceeded"
    )
    assert figures(api, opened["id"])[1] == dec("100")
    # The limit is measured from the original value, not from the current one.
    assert api.put(path, json={"value": "50", "settle": True, "installments": 1}).status_code == 200
    assert api.put(path, json={"value": "110", "settle": True, "installments": 1}).status_code == 200
    assert figures(api, opened["id"])[1] == dec("110")
    refused(
        api.put(path, json={"value": "110.01", "settle": True, "installments": 1}), 409, "GrowthLimitExceeded"
    )


def test_hold_growth_must_fit_the_available_credit(api):
    configure(api, maxPreAuthorizationGrowthRate="1")
    opened = open_account(api, credit_limit="150")
    transaction_id = hold(api, opened["id"], "100").json()["id"]
    path = f"/accounts/{opened['id']}/transactions/{transaction_id}"
    refused(
        api.put(path, json={"value": "150.01", "settle": True, "installments": 1}), 409, "InsufficientCredit"
    )
    assert api.put(path, json={"value": "150", "settle": True, "installments": 1}).status_code == 200
    assert figures(api, opened["id"])[1:3] == (dec("150"), 0)


def test_cancel_releases_the_hold_and_twice_is_a_no_op(api):
    opened = open_account(api, credit_limit="100")
    transaction_id = hold(api, opened["id"], "70").json()["id"]
    path = f"/accounts/{opened['id']}/transactions/{transaction_id}"

    first = api.delete(path)
    assert first.status_code == 200, first.text
    assert figures(api, opened["id"]) == (0, 0, dec("100"), dec("100"))
    second = api.delete(path)
    assert second.status_code == 200, second.text
    assert figures(api, opened["id"]) == (0, 0, dec("100"), dec("100"))
    assert ledger(api, opened["id"]) == []

    refused(settle(api, opened["id"], transaction_id, "70"), 409)
    refused(api.put(path, json={"value": "70", "settle": True, "installments": 1}), 409)
    assert invoices(api, opened["id"]) == []
    assert figures(api, opened["id"])[:2] == (0, 0)


def test_cancel_of_a_settled_transaction_is_refused(api):
    opened = open_account(api, credit_limit="100")
    transaction_id = purchase(api, opened["id"], "70")
    refused(api.delete(f"/accounts/{opened['id']}/transactions/{transaction_id}"), 409)
    assert figures(api, opened["id"])[:2] == (dec("-70"), 0)
    assert [i["status"] for i in invoices(api, opened["id"])] == ["Opened"]


def test_unknown_transaction_is_404(api):
    opened = open_account(api)
    refused(api.delete(f"/accounts/{opened['id']}/transactions/{new_id()}"), 404)
    refused(settle(api, opened["id"], new_id(), "1"), 404)
    refused(api.post(f"/accounts/{opened['id']}/transactions/{new_id()}/refunds", json={"value": 1}), 404)


def test_transaction_of_another_account_is_not_found(api):
    first = open_account(api)
    second = open_account(api)
    transaction_id = hold(api, first["id"], "10").json()["id"]
    refused(settle(api, second["id"], transaction_id, "10"), 404)
    refused(api.delete(f"/accounts/{second['id']}/transactions/{transaction_id}"), 404)
    assert figures(api, first["id"])[1] == dec("10")


# --- settlements --------------------------------------------------------------------------------


def test_settlement_releases_the_hold_and_issues_the_invoices(api):
    opened = open_account(api, credit_limit="1000")
    transaction_id = hold(api, opened["id"], "100", installments=3, orderId="order-77").json()["id"]
    settled = settle(api, opened["id"], transaction_id, "100")
    assert_matches("put", SETTLEMENT, settled)
    assert settled.json()["id"] == transaction_id
    assert dec(settled.json()["value"]) == dec("100")
    assert figures(api, opened["id"]) == (dec("-100"), 0, dec("900"), dec("900"))
    issued = invoices(api, opened["id"])
    assert [dec(i["value"]) for i in issued] == [dec("33.34"), dec("33.33"), dec("33.33")]
    entries = ledger(api, opened["id"])
    assert len(entries) == 1
    assert entries[0]["origin"] == "Invoice"
    assert dec(entries[0]["value"]) == dec("-100")
    assert entries[0]["metadata"]["transactionId"] == transaction_id
    assert entries[0]["metadata"]["orderId"] == "order-77"
    assert entries[0]["metadata"]["numberOfInstallments"] == 3


def test_settlement_entry_counts_the_invoices_actually_issued(api):
    """0.02 in 3 installments issues 2 invoices (a part of 0 cents issues none): the entry's
    numberOfInstallments says 2, like the invoices' own numberOfInstallments."""
    opened = open_account(api, credit_limit="10")
    transaction_id = purchase(api, opened["id"], "0.02", installments=3)
    issued = invoices(api, opened["id"])
    assert [dec(i["value"]) for i in issued] == [dec("0.01"), dec("0.01")]
    assert {i["numberOfInstallments"] for i in issued} == {2}
    (entry,) = ledger(api, opened["id"])
    assert entry["metadata"]["transactionId"] == transaction_id
    assert entry["metadata"]["numberOfInstallments"] == 2


def test_settlement_change_entry_counts_the_invoices_it_issued(api):
    configure(api, maxPreAuthorizationGrowthRate="0.5")
    opened = open_account(api, credit_limit="10")
    transaction_id = purchase(api, opened["id"], "1", installments=3)
    # 0.01 more in 3 installments: one extra invoice; 0.02 less: none.
    assert settle(api, opened["id"], transaction_id, "1.01").status_code == 200
    assert settle(api, opened["id"], transaction_id, "0.99").status_code == 200
    assert len(invoices(api, opened["id"])) == 4
    counts = [e["metadata"]["numberOfInstallments"] for e in ledger(api, opened["id"])]
    assert counts == [3, 1, 0]


def test_settlement_only_for_holds_created_with_settle_true(api):
    opened = open_account(api, credit_limit="100")
    transaction_id = hold(api, opened["id"], "50", settle=False).json()["id"]
    refused(settle(api, opened["id"], transaction_id, "50"), 409)
    assert figures(api, opened["id"])[:2] == (0, dec("50"))
    assert invoices(api, opened["id"]) == []
    assert ledger(api, opened["id"]) == []


def test_settlement_repeated_with_the_same_value_changes_nothing(api):
    opened = open_account(api, credit_limit="1000")
    transaction_id = hold(api, opened["id"], "100", installments=2).json()["id"]
    first = settle(api, opened["id"], transaction_id, "100")
    issued = invoices(api, opened["id"])
    again = settle(api, opened["id"], transaction_id, "100.00")
    assert_matches("put", SETTLEMENT, again)
    assert again.json() == first.json()
    assert invoices(api, opened["id"]) == issued
    assert len(ledger(api, opened["id"])) == 1
    assert figures(api, opened["id"])[:2] == (dec("-100"), 0)


def test_settlement_above_the_hold_is_limited_by_the_growth_rate(api):
    configure(api, maxPreAuthorizationGrowthRate="0.1")
    opened = open_account(api, credit_limit="1000")
    transaction_id = hold(api, opened["id"], "100").json()["id"]
    refused(settle(api, opened["id"], transaction_id, "110.01"), 409, "GrowthLimitExceeded")
    assert figures(api, opened["id"])[:2] == (0, dec("100"))
    assert settle(api, opened["id"], transaction_id, "110").status_code == 200
    assert figures(api, opened["id"])[:2] == (dec("-110"), 0)


def test_settlement_below_the_hold_settles_the_lower_value(api):
    opened = open_account(api, credit_limit="1000")
    transaction_id = hold(api, opened["id"], "100").json()["id"]
    assert settle(api, opened["id"], transaction_id, "80").status_code == 200
    # The whole hold is released, only the settled value is owed.
    assert figures(api, opened["id"]) == (dec("-80"), 0, dec("920"), dec("920"))


def test_lower_settlement_lowers_open_invoices_from_the_last_back(api):
    opened = open_account(api, credit_limit="1000")
    transaction_id = purchase(api, opened["id"], "100", installments=4)
    last = f"{transaction_id}-04"
    assert api.post(f"/accounts/{opened['id']}/invoices/{last}/payments").status_code == 200
    # 30 less: the paid -04 is skipped, -03 (25) is cancelled, -02 goes 25 → 20.
    lowered = settle(api, opened["id"], transaction_id, "70")
    assert_matches("put", SETTLEMENT, lowered)
    assert dec(lowered.json()["value"]) == dec("70")
    by_id = {i["id"]: i for i in invoices(api, opened["id"])}
    assert [
        (by_id[f"{transaction_id}-0{k}"]["status"], dec(by_id[f"{transaction_id}-0{k}"]["value"]))
        for k in (1, 2, 3, 4)
    ] == [
        ("Opened", dec("25")),
        ("Opened", dec("20")),
        ("Cancelled", dec("0")),
        ("Paid", dec("25")),
    ]
    # −70 settled, +25 paid: still owed 45 on Opened invoices.
    assert figures(api, opened["id"])[0] == dec("-45")
    assert [(e["origin"], dec(e["value"])) for e in ledger(api, opened["id"])] == [
        ("Invoice", dec("-100")),
        ("Payment", dec("25")),
        ("Invoice", dec("30")),
    ]
    # Repeating the lowered value changes nothing more.
    assert settle(api, opened["id"], transaction_id, "70").status_code == 200
    assert len(ledger(api, opened["id"])) == 3


def test_lower_settlement_below_what_is_open_is_refused(api):
    opened = open_account(api, credit_limit="1000")
    transaction_id = purchase(api, opened["id"], "100", installments=2)
    assert api.post(f"/accounts/{opened['id']}/invoices/{transaction_id}-02/payments").status_code == 200
    refused(settle(api, opened["id"], transaction_id, "49.99"), 409)
    assert figures(api, opened["id"])[0] == dec("-50")
    assert settle(api, opened["id"], transaction_id, "50").status_code == 200
    assert figures(api, opened["id"])[0] == 0


def test_higher_settlement_issues_extra_invoices_for_the_difference(api):
    configure(api, maxPreAuthorizationGrowthRate="0.5")
    opened = open_account(api, credit_limit="1000")
    transaction_id = purchase(api, opened["id"], "100", installments=2)
    refused(settle(api, opened["id"], transaction_id, "150.01"), 409, "GrowthLimitExceeded")

    raised = settle(api, opened["id"], transaction_id, "130.01")
    assert_matches("put", SETTLEMENT, raised)
    assert dec(raised.json()["value"]) == dec("130.01")
    issued = invoices(api, opened["id"])
    assert [i["id"] for i in issued] == [f"{transaction_id}-0{k}" for k in (1, 2, 3, 4)]
    assert [dec(i["value"]) for i in issued] == [dec("50"), dec("50"), dec("15.01"), dec("15")]
    assert all(i["status"] == "Opened" for i in issued)
    extra_issued_at = when(issued[2]["createdAt"])
    assert when(issued[2]["dueDate"]) - extra_issued_at == timedelta(days=30)
    assert when(issued[3]["dueDate"]) - extra_issued_at == timedelta(days=60)
    assert figures(api, opened["id"])[:2] == (dec("-130.01"), 0)
    assert [dec(e["value"]) for e in ledger(api, opened["id"])] == [dec("-100"), dec("-30.01")]


def test_higher_settlement_must_fit_the_available_credit(api):
    configure(api, maxPreAuthorizationGrowthRate="1")
    opened = open_account(api, credit_limit="120")
    transaction_id = purchase(api, opened["id"], "100")
    refused(settle(api, opened["id"], transaction_id, "120.01"), 409, "InsufficientCredit")
    assert settle(api, opened["id"], transaction_id, "120").status_code == 200
    assert figures(api, opened["id"])[:3] == (dec("-120"), 0, 0)


def test_settlement_after_cancel_is_refused(api):
    opened = open_account(api, credit_limit="100")
    transaction_id = hold(api, opened["id"], "10").json()["id"]
    assert api.delete(f"/accounts/{opened['id']}/transactions/{transaction_id}").status_code == 200
    refused(settle(api, opened["id"], transaction_id, "10"), 409)
    assert figures(api, opened["id"]) == (0, 0, dec("100"), dec("100"))
    assert ledger(api, opened["id"]) == []


# --- refunds ------------------------------------------------------------------------------------


def refund(api, account_id, transaction_id, value):
    return api.post(f"/accounts/{account_id}/transactions/{transaction_id}/refunds", json={"value": value})


def test_refund_lowers_open_invoices_from_the_last_back_and_returns_the_paid_excess(api):
    opened = open_account(api, credit_limit="1000")
    transaction_id = purchase(api, opened["id"], "90", installments=3)
    assert api.post(f"/accounts/{opened['id']}/invoices/{transaction_id}-01/payments").status_code == 200

    first = refund(api, opened["id"], transaction_id, "40")
    assert_matches("post", REFUNDS, first)
    assert dec(first.json()["value"]) == dec("40")
    states = [(i["status"], dec(i["value"])) for i in invoices(api, opened["id"])]
    assert states == [("Paid", dec("30")), ("Opened", dec("20")), ("Cancelled", dec("0"))]
    # −90 + 30 paid + 40 refunded: 20 still owed, exactly the Opened invoice.
    assert figures(api, opened["id"])[0] == dec("-20")

    second = refund(api, opened["id"], transaction_id, "50")
    assert_matches("post", REFUNDS, second)
    states = [(i["status"], dec(i["value"])) for i in invoices(api, opened["id"])]
    assert states == [("Paid", dec("30")), ("Cancelled", dec("0")), ("Cancelled", dec("0"))]
    # 20 cancelled the last open invoice; the other 30 had been paid and comes back as credit.
    assert figures(api, opened["id"])[:3] == (dec("30"), 0, dec("1030"))
    assert [(e["origin"], dec(e["value"])) for e in ledger(api, opened["id"])] == [
        ("Invoice", dec("-90")),
        ("Payment", dec("30")),
        ("Invoice", dec("40")),
        ("Invoice", dec("50")),
    ]

    refused(refund(api, opened["id"], transaction_id, "0.01"), 409)
    assert figures(api, opened["id"])[0] == dec("30")


def test_refund_above_what_is_left_to_refund_is_refused(api):
    opened = open_account(api, credit_limit="1000")
    transaction_id = purchase(api, opened["id"], "50", installments=2)
    refused(refund(api, opened["id"], transaction_id, "50.01"), 409)
    assert refund(api, opened["id"], transaction_id, "20").status_code == 200
    refused(refund(api, opened["id"], transaction_id, "30.01"), 409)
    assert figures(api, opened["id"])[0] == dec("-30")
    assert refund(api, opened["id"], transaction_id, "30").status_code == 200
    assert figures(api, opened["id"])[0] == 0
    assert all(i["status"] == "Cancelled" for i in invoices(api, opened["id"]))


def test_refund_of_an_unsettled_hold_is_refused(api):
    opened = open_account(api, credit_limit="100")
    transaction_id = hold(api, opened["id"], "10").json()["id"]
    refused(refund(api, opened["id"], transaction_id, "10"), 409)
    refused(refund(api, opened["id"], transaction_id, "0"), 400)
    assert figures(api, opened["id"])[:2] == (0, dec("10"))
