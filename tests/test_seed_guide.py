"""Every example of the seed guide (../shared/seed/managing-a-customer-credit-invoice.md), call by
call through HTTP. Ids and dates differ from the guide's; the shapes, statuses and figures do not."""

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from customer_credit.invoices.models import Invoice
from tests.contract import assert_matches, is_error_shape
from tests.helpers import FULL_CONFIG, account, dec, hold, open_account, purchase

ACCOUNTS = "/api/creditcontrol/accounts"
INVOICE = f"{ACCOUNTS}/{{creditAccountId}}/invoices/{{invoiceId}}"
ACCOUNT_INVOICES = f"{ACCOUNTS}/{{creditAccountId}}/invoices"


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def retrieve(api, account_id, invoice_id) -> dict:
    response = api.get(f"/accounts/{account_id}/invoices/{invoice_id}")
    assert_matches("get", INVOICE, response)
    return response.json()


def set_due_dates(database, store, invoice_id, *, due: datetime, original: datetime) -> None:
    with database.write() as session:
        changed = session.execute(
            update(Invoice)
            .where(Invoice.store_id == store.id, Invoice.public_id == invoice_id)
            .values(due_at=due, original_due_at=original)
        ).rowcount
    assert changed == 1


def test_ten_installment_purchase_makes_ten_invoices_on_the_same_order(api):
    opened = open_account(api, credit_limit="1000")
    held = hold(api, opened["id"], "100.05", installments=10, orderId="1413870513134-01")
    assert_matches("post", f"{ACCOUNTS}/{{creditAccountId}}/transactions", held)
    transaction_id = held.json()["id"]
    assert re.fullmatch(r"[0-9A-F]{32}", transaction_id)

    settled = api.put(
        f"/accounts/{opened['id']}/transactions/{transaction_id}/settlement", json={"value": "100.05"}
    )
    assert_matches(
        "put", f"{ACCOUNTS}/{{creditAccountId}}/transactions/{{transactionId}}/settlement", settled
    )
    assert settled.json()["id"] == transaction_id
    assert dec(settled.json()["value"]) == dec("100.05")

    listed = api.get(f"/accounts/{opened['id']}/invoices")
    assert_matches("get", ACCOUNT_INVOICES, listed)
    invoices = listed.json()["data"]
    assert [invoice["id"] for invoice in invoices] == [f"{transaction_id}-{k:02d}" for k in range(1, 11)]
    # 100.05 / 10: 10.00 each, and the 5 leftover cents on the first five installments.
    assert [dec(invoice["value"]) for invoice in invoices] == [dec("10.01")] * 5 + [dec("10.00")] * 5
    assert sum(dec(invoice["value"]) for invoice in invoices) == dec("100.05")
    assert listed.json()["summary"]["count"] == 10
    assert dec(listed.json()["summary"]["total"]) == dec("100.05")

    prefixes = set()
    for k, invoice in enumerate(invoices, start=1):
        assert invoice == retrieve(api, opened["id"], invoice["id"])
        assert invoice["orderId"] == "1413870513134-01"
        assert invoice["transactionId"] == transaction_id
        assert invoice["installment"] == k
        assert invoice["numberOfInstallments"] == 10
        assert invoice["status"] == "Opened"
        assert invoice["accountId"] == invoice["creditAccountId"] == opened["id"]
        assert dec(invoice["creditValue"]) == 0
        prefix, number = invoice["friendlyId"].rsplit("-", 1)
        assert re.fullmatch(r"[A-Za-z0-9]{8}", prefix) and number == str(k)
        prefixes.add(prefix)
        # Installment k is due k × 30 days after the settlement (the invoices' creation).
        assert when(invoice["dueDate"]) - when(invoice["createdAt"]) == timedelta(days=30 * k)
        assert invoice["originalDueDate"] == invoice["dueDate"]
    assert len(prefixes) == 1

    figures = account(api, opened["id"])
    assert dec(figures["balance"]) == dec("-100.05")
    assert dec(figures["preAuthorizedCredit"]) == 0
    assert dec(figures["availableCredit"]) == dec("899.95")


def test_account_invoice_list_and_store_search_summaries(api):
    first = open_account(api, credit_limit="500")
    second = open_account(api, credit_limit="500")
    paid_tx = purchase(api, first["id"], "8.01")
    open_tx = purchase(api, first["id"], "9.63")
    assert api.post(f"/accounts/{first['id']}/invoices/{paid_tx}-01/payments").status_code == 200

    # The per-account list of the guide: one Paid 8.01, one Opened 9.63, oldest first.
    listed = api.get(f"/accounts/{first['id']}/invoices/")
    assert_matches("get", ACCOUNT_INVOICES, listed)
    body = listed.json()
    assert [(i["id"], i["status"]) for i in body["data"]] == [
        (f"{paid_tx}-01", "Paid"),
        (f"{open_tx}-01", "Opened"),
    ]
    assert body["data"][0]["resolvedAt"] is not None
    assert body["summary"]["count"] == 2
    assert dec(body["summary"]["total"]) == dec("9.63")
    assert dec(body["summary"]["totalPaid"]) == dec("8.01")
    assert dec(body["summary"]["totalCancelled"]) == 0

    # Search all: every account of the store; the summary covers all matches, not the page.
    cancelled_tx = purchase(api, second["id"], "1.24")
    more_tx = purchase(api, second["id"], "30.00", installments=3)
    assert api.delete(f"/accounts/{second['id']}/invoices/{cancelled_tx}-01").status_code == 200

    everything = api.get("/invoices/")
    assert_matches("get", "/api/creditcontrol/invoices", everything)
    ids = [invoice["id"] for invoice in everything.json()["data"]]
    assert ids == [
        f"{paid_tx}-01",
        f"{open_tx}-01",
        f"{cancelled_tx}-01",
        f"{more_tx}-01",
        f"{more_tx}-02",
        f"{more_tx}-03",
    ]
    expected_summary = {
        "count": 6,
        "total": dec("39.63"),
        "totalPaid": dec("8.01"),
        "totalCancelled": dec("1.24"),
    }

    def summary_of(response):
        summary = response.json()["summary"]
        return {
            "count": summary["count"],
            **{k: dec(summary[k]) for k in ("total", "totalPaid", "totalCancelled")},
        }

    assert summary_of(everything) == expected_summary
    page = api.get("/invoices", params={"from": 2, "to": 3})
    assert_matches("get", "/api/creditcontrol/invoices", page)
    assert [invoice["id"] for invoice in page.json()["data"]] == ids[1:3]
    assert summary_of(page) == expected_summary


def test_change_invoice_then_retrieve(api):
    opened = open_account(api)
    transaction_id = purchase(api, opened["id"], "9.63")
    invoice_id = f"{transaction_id}-01"
    before = retrieve(api, opened["id"], invoice_id)
    assert before["resolvedAt"] is None

    changed = api.put(
        f"/accounts/{opened['id']}/invoices/{invoice_id}",
        json={
            "status": "Paid",
            "observation": "BF 2024 customer invoice.",
            "paymentLink": "https://paymentlink.com",
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.content == b""

    after = retrieve(api, opened["id"], invoice_id)
    assert after["status"] == "Paid"
    assert after["observation"] == "BF 2024 customer invoice."
    assert after["paymentLink"] == "https://paymentlink.com"
    assert after["resolvedAt"] is not None
    assert when(after["updatedAt"]) >= when(before["updatedAt"])
    assert dec(after["value"]) == dec("9.63")
    assert account(api, opened["id"])["balance"] == 0


def test_postponement_with_the_store_settings_of_the_guide(api, database, store):
    # The guide sends only the three postponement fields; the contract marks every field
    # required, so the rest are sent with their defaults.
    configured = api.put(
        "/storeconfig",
        json={
            **FULL_CONFIG,
            "invoicePostponementLimit": 3,
            "maxPostponementDays": 30,
            "postponementEnabled": True,
        },
    )
    assert_matches("put", "/api/creditcontrol/storeconfig", configured)
    assert configured.json()["invoicePostponementLimit"] == 3
    assert configured.json()["maxPostponementDays"] == 30
    assert configured.json()["postponementEnabled"] is True

    opened = open_account(api)
    transaction_id = purchase(api, opened["id"], "9.63")
    invoice_id = f"{transaction_id}-01"
    may_20 = datetime(2024, 5, 20, 6, 52, 53, 131437, tzinfo=UTC)
    set_due_dates(database, store, invoice_id, due=may_20, original=may_20)

    postponed = api.put(f"/accounts/{opened['id']}/invoices/{invoice_id}/postponement", json={"dueDays": 5})
    assert postponed.status_code == 200, postponed.text
    assert postponed.content == b""

    invoice = retrieve(api, opened["id"], invoice_id)
    assert when(invoice["dueDate"]) == datetime(2024, 5, 25, 6, 52, 53, 131437, tzinfo=UTC)
    assert when(invoice["originalDueDate"]) == may_20
    assert invoice["status"] == "Opened"
    assert dec(invoice["value"]) == dec("9.63")


def test_mark_as_paid_returns_the_paid_invoice_and_restores_the_balance(api):
    opened = open_account(api, credit_limit="100")
    transaction_id = purchase(api, opened["id"], "9.63")
    owing = account(api, opened["id"])
    assert dec(owing["balance"]) == dec("-9.63")
    assert dec(owing["availableCredit"]) == dec("90.37")

    paid = api.post(f"/accounts/{opened['id']}/invoices/{transaction_id}-01/payments")
    assert_matches("post", f"{INVOICE}/payments", paid)
    body = paid.json()
    assert body["id"] == f"{transaction_id}-01"
    assert body["status"] == "Paid"
    assert body["resolvedAt"] is not None
    assert dec(body["value"]) == dec("9.63")
    assert dec(body["creditValue"]) == dec("9.63")
    assert body == retrieve(api, opened["id"], f"{transaction_id}-01")

    restored = account(api, opened["id"])
    assert dec(restored["balance"]) == 0
    assert dec(restored["availableCredit"]) == dec("100")


def test_a_paid_invoice_can_no_longer_be_cancelled(api):
    opened = open_account(api)
    transaction_id = purchase(api, opened["id"], "9.63")
    invoice_id = f"{transaction_id}-01"
    assert api.post(f"/accounts/{opened['id']}/invoices/{invoice_id}/payments").status_code == 200

    refused = api.delete(f"/accounts/{opened['id']}/invoices/{invoice_id}")
    assert refused.status_code == 409
    assert is_error_shape(refused)
    assert refused.json()["error"]["code"] == "InvoiceAlreadyPaid"
    assert retrieve(api, opened["id"], invoice_id)["status"] == "Paid"
    assert dec(account(api, opened["id"])["balance"]) == 0


def test_a_cancelled_invoice_shows_status_cancelled(api):
    opened = open_account(api, credit_limit="100")
    transaction_id = purchase(api, opened["id"], "9.63")
    invoice_id = f"{transaction_id}-01"

    cancelled = api.delete(f"/accounts/{opened['id']}/invoices/{invoice_id}")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.content == b""

    invoice = retrieve(api, opened["id"], invoice_id)
    assert invoice["status"] == "Cancelled"
    assert invoice["resolvedAt"] is not None
    assert dec(invoice["value"]) == dec("9.63")
    assert dec(account(api, opened["id"])["balance"]) == 0
    assert dec(account(api, opened["id"])["availableCredit"]) == dec("100")
