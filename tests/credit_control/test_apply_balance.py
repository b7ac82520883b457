"""Applying an account's unapplied balance to one of its open invoices, on SQLite and PostgreSQL,
through the API and the service layer: the invoice is paid from the credit the account holds
(a Payment entry and a Statement entry that net to zero, so the balance stays); refused beyond
that credit, beyond what the invoice owes, on a cancelled or paid invoice, for bad input and
without Pay Invoice; applied once per reference; given back when the payment is reversed."""

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from customer_credit.auth.resources import PAY_INVOICE, READ_ACCOUNTS, READ_INVOICES
from customer_credit.credit_control import balance
from customer_credit.errors import Conflict
from customer_credit.ledger.service import recompute_mismatches
from tests.credit_control.test_adjustments import error_code, field_of, invoices_of, statements, store_events
from tests.helpers import account, dec, open_account, purchase

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def credit_of(api, value="100") -> str:
    """An account holding `value` of unapplied credit: a purchase paid, then refunded."""
    opened = open_account(api, credit_limit="10000")
    transaction_id = purchase(api, opened["id"], value)
    [invoice] = invoices_of(api, opened["id"])
    assert api.post(f"/accounts/{opened['id']}/invoices/{invoice['id']}/payments", json={}).status_code == 200
    refunded = api.post(
        f"/accounts/{opened['id']}/transactions/{transaction_id}/refunds", json={"value": value}
    )
    assert refunded.status_code == 200, refunded.text
    assert dec(account(api, opened["id"])["balance"]) == dec(value)
    return opened["id"]


def new_invoice(api, account_id: str, value) -> dict:
    transaction_id = purchase(api, account_id, value)
    return next(i for i in invoices_of(api, account_id) if i["transactionId"] == transaction_id)


def apply(api, account_id: str, invoice_id: str, **body):
    return api.post(f"/accounts/{account_id}/invoices/{invoice_id}/balanceapplications", json=body)


def unapplied(api, account_id: str) -> dict:
    response = api.get(f"/accounts/{account_id}/unappliedbalance")
    assert response.status_code == 200, response.text
    return response.json()


def books_are_right(database, store) -> None:
    with database.read() as session:
        assert recompute_mismatches(session, store.id) == []


def test_a_positive_balance_pays_a_chosen_invoice(api, database, store):
    account_id = credit_of(api, "100")
    invoice = new_invoice(api, account_id, "60")
    before = account(api, account_id)
    assert dec(before["balance"]) == 40
    assert {
        key: dec(value) for key, value in unapplied(api, account_id).items() if key != "creditAccountId"
    } == {
        "balance": 40,
        "openInvoicesOwed": 60,
        "unappliedBalance": 100,
    }

    applied = apply(api, account_id, invoice["id"], value="60", reference="apply-1")
    assert applied.status_code == 200, applied.text
    assert dec(applied.json()["value"]) == 60 and applied.json()["reference"] == "apply-1"
    [paid] = [i for i in invoices_of(api, account_id) if i["id"] == invoice["id"]]
    assert (paid["status"], dec(paid["creditValue"]), dec(paid["balanceAppliedValue"])) == ("Paid", 60, 60)
    # The balance and the available credit stay; the credit left to apply goes down.
    after = account(api, account_id)
    assert (after["balance"], after["availableCredit"]) == (before["balance"], before["availableCredit"])
    assert dec(unapplied(api, account_id)["unappliedBalance"]) == 40

    payment, consumed = statements(api, account_id)[-2:]
    assert (payment["origin"], dec(payment["value"])) == ("Payment", 60)
    assert (consumed["origin"], dec(consumed["value"])) == ("Statement", -60)
    assert consumed["metadata"]["invoiceId"] == invoice["id"]
    assert payment["metadata"]["balanceApplication"] == consumed["metadata"]["balanceApplication"]
    books_are_right(database, store)

    [event] = [
        e for e in store_events(api, "invoice.balance_applied") if e["data"]["invoice"]["id"] == invoice["id"]
    ]
    assert event["data"]["changes"]["balanceApplication"]["value"] == 60
    assert sorted(entry["origin"] for entry in event["data"]["ledgerEntries"]) == ["Payment", "Statement"]
    assert any(e["data"]["invoice"]["id"] == invoice["id"] for e in store_events(api, "invoice.paid"))


def test_a_balance_the_account_does_not_have_is_refused(api, database, store):
    # No credit at all: a purchase owes what it settled.
    opened = open_account(api, credit_limit="1000")
    invoice = new_invoice(api, opened["id"], "50")
    refused = apply(api, opened["id"], invoice["id"], value="1")
    assert error_code(refused) == "InsufficientBalance"
    assert "has 0.00 of balance to apply" in refused.json()["error"]["message"]

    account_id = credit_of(api, "30")
    invoice = new_invoice(api, account_id, "50")
    assert error_code(apply(api, account_id, invoice["id"], value="30.01")) == "InsufficientBalance"
    assert apply(api, account_id, invoice["id"], value="30").status_code == 200
    assert error_code(apply(api, account_id, invoice["id"], value="0.01")) == "InsufficientBalance"
    [left] = [i for i in invoices_of(api, account_id) if i["id"] == invoice["id"]]
    assert (left["status"], dec(left["creditValue"])) == ("Opened", 30)
    books_are_right(database, store)


def test_a_manual_debit_is_a_debt_and_eats_the_credit_first(api):
    account_id = credit_of(api, "100")
    invoice = new_invoice(api, account_id, "80")
    debit = api.put(f"/accounts/{account_id}/statements/fee-1", json={"value": "50"})
    assert debit.status_code == 200, debit.text
    assert dec(unapplied(api, account_id)["unappliedBalance"]) == 50
    assert error_code(apply(api, account_id, invoice["id"], value="50.01")) == "InsufficientBalance"


def test_the_invoice_must_be_open_and_owe_the_amount(api):
    account_id = credit_of(api, "500")
    first, second = new_invoice(api, account_id, "40"), new_invoice(api, account_id, "40")
    assert error_code(apply(api, account_id, first["id"], value="40.01")) == "PaymentExceedsOwed"
    assert api.delete(f"/accounts/{account_id}/invoices/{first['id']}").status_code == 200
    assert error_code(apply(api, account_id, first["id"], value="1")) == "InvoiceCancelled"
    assert api.post(f"/accounts/{account_id}/invoices/{second['id']}/payments", json={}).status_code == 200
    assert error_code(apply(api, account_id, second["id"], value="1")) == "InvoiceAlreadyPaid"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"value": "0"}, "value"),
        ({"value": "-1"}, "value"),
        ({"value": "0.001"}, "value"),
        ({}, "value"),
        ({"value": "1", "reference": "x" * 201}, "reference"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, body, field):
    account_id = credit_of(api, "10")
    invoice = new_invoice(api, account_id, "5")
    assert field_of(apply(api, account_id, invoice["id"], **body)) == field


def test_paying_from_the_balance_needs_pay_invoice(api, store):
    account_id = credit_of(api, "10")
    invoice = new_invoice(api, account_id, "5")
    reader = store.api(resources=(READ_INVOICES, READ_ACCOUNTS))
    assert apply(reader, account_id, invoice["id"], value="5").status_code == 403
    assert reader.get(f"/accounts/{account_id}/unappliedbalance").status_code == 200
    payer = store.api(resources=(PAY_INVOICE,))
    assert apply(payer, account_id, invoice["id"], value="5").status_code == 200


def test_the_same_reference_applies_once(api, database, store):
    account_id = credit_of(api, "100")
    invoice = new_invoice(api, account_id, "80")
    first = apply(api, account_id, invoice["id"], value="10", reference="R-1")
    again = apply(api, account_id, invoice["id"], value="10", reference="R-1")
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert dec(unapplied(api, account_id)["unappliedBalance"]) == 90
    assert error_code(apply(api, account_id, invoice["id"], value="11", reference="R-1")) == (
        "ApplicationReferenceReused"
    )
    books_are_right(database, store)


def test_reversing_the_payment_gives_the_applied_balance_back(api, database, store):
    account_id = credit_of(api, "100")
    invoice = new_invoice(api, account_id, "70")
    assert apply(api, account_id, invoice["id"], value="50").status_code == 200
    cash = api.post(f"/accounts/{account_id}/invoices/{invoice['id']}/payments", json={"value": "20"})
    assert cash.status_code == 200, cash.text
    assert dec(unapplied(api, account_id)["unappliedBalance"]) == 50
    balance_before = dec(account(api, account_id)["balance"])

    reopened = api.put(f"/accounts/{account_id}/invoices/{invoice['id']}", json={"status": "Opened"})
    assert reopened.status_code == 200, reopened.text
    [after] = [i for i in invoices_of(api, account_id) if i["id"] == invoice["id"]]
    assert (after["status"], dec(after["creditValue"]), dec(after["balanceAppliedValue"])) == ("Opened", 0, 0)
    # The cash payment bounced (−20); the 50 from the balance is credit again.
    assert dec(account(api, account_id)["balance"]) == balance_before - 20
    assert dec(unapplied(api, account_id)["unappliedBalance"]) == 100
    restored, reversal = statements(api, account_id)[-2:]
    assert (restored["origin"], dec(restored["value"]), restored["metadata"]["balanceApplication"]) == (
        "Statement",
        50,
        "reversed",
    )
    assert (reversal["origin"], dec(reversal["value"])) == ("Payment", -70)
    assert apply(api, account_id, invoice["id"], value="70").status_code == 200
    books_are_right(database, store)


def test_the_service_answers_like_the_api(api, database, store):
    account_id = credit_of(api, "25")
    invoice = new_invoice(api, account_id, "40")
    principal = store.principal(name="finance@example.com")
    with pytest.raises(Conflict) as refused, database.write() as session:
        balance.apply_balance(session, principal, account_id, invoice["id"], value=Decimal("25.01"), now=NOW)
    assert refused.value.code == "InsufficientBalance"
    with database.write() as session:
        application, new = balance.apply_balance(
            session, principal, account_id, invoice["id"], value=Decimal("25"), now=NOW
        )
        assert new and application.applied_by == "finance@example.com"
    books_are_right(database, store)


@pytest.mark.postgresql_only
def test_concurrent_applications_never_spend_the_credit_twice(api, database, store):
    """Six applications of 30 on six invoices race for 100 of credit: three go through."""
    account_id = credit_of(api, "100")
    targets = [new_invoice(api, account_id, "30") for _ in range(6)]
    # Six invoices of 30 lower the balance; the unapplied credit stays 100.
    assert dec(unapplied(api, account_id)["unappliedBalance"]) == 100
    principal = store.principal()
    barrier = threading.Barrier(len(targets))
    outcomes: list[str] = []

    def one(invoice_id: str) -> None:
        barrier.wait()
        try:
            with database.write() as session:
                balance.apply_balance(session, principal, account_id, invoice_id, value=Decimal(30), now=NOW)
            outcomes.append("done")
        except Conflict as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=one, args=(invoice["id"],)) for invoice in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["InsufficientBalance"] * 3 + ["done"] * 3
    assert dec(unapplied(api, account_id)["unappliedBalance"]) == 10
    books_are_right(database, store)
