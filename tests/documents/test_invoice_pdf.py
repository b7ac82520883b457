"""The PDF invoice through the API, on SQLite and PostgreSQL: its text read back with pdftotext
(store identity, ids, amounts exact to the cent, dates in the store's time zone, the lateness
figures of the invoice's own answer), the logo, determinism, permissions and tenancy."""

import re
from datetime import UTC, datetime
from decimal import Decimal

from customer_credit.auth import resources
from tests.documents.support import PDF, has_image, pdf_text, png, set_invoice, set_store
from tests.helpers import configure, hold, open_account

NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)


def buy(api, account_id: str, value: str, *, installments: int = 1, order_id: str = "ORD-77") -> list[dict]:
    held = hold(api, account_id, value, installments=installments, orderId=order_id)
    assert held.status_code == 200, held.text
    transaction_id = held.json()["id"]
    settled = api.put(
        f"/accounts/{account_id}/transactions/{transaction_id}/settlement", json={"value": value}
    )
    assert settled.status_code == 200, settled.text
    found = api.get(f"/accounts/{account_id}/invoices")
    assert found.status_code == 200, found.text
    return [row for row in found.json()["data"] if row["transactionId"] == transaction_id]


def line(text: str, label: str, value: str) -> bool:
    """`label` and `value` side by side on one line of the layout, the value whole."""
    return re.search(rf"^\s*{re.escape(label)}\s+{re.escape(value)}\s*$", text, re.MULTILINE) is not None


def test_a_partly_paid_overdue_invoice_shows_its_figures(api, store, frozen_clock):
    frozen_clock.set(NOW)
    configure(api, dailyInterestRate="0.01")
    set_store(
        store,
        display_name="ACME Tools Ltda",
        payment_instructions="Bank transfer to IBAN DE00 1234 5678\nQuote the invoice id.",
        timezone="America/Sao_Paulo",
    )
    account_id = open_account(api, email="buyer@example.com", credit_limit="5000")["id"]
    first, _second = buy(api, account_id, "246.90", installments=2)
    paid = api.post(f"/accounts/{account_id}/invoices/{first['id']}/payments", json={"value": "23.45"})
    assert paid.status_code == 200, paid.text
    api.put(
        f"/accounts/{account_id}/invoices/{first['id']}",
        json={"status": "Opened", "paymentLink": "https://pay.example/inv/1"},
    )
    # Due 09:00 on Mar 15 in São Paulo; first due at 23:00 on Mar 9 there (02:00 UTC on Mar 10).
    set_invoice(
        store,
        first["id"],
        due_at=datetime(2026, 3, 15, 12, 0, tzinfo=UTC),
        original_due_at=datetime(2026, 3, 10, 2, 0, tzinfo=UTC),
        created_at=datetime(2026, 2, 10, 12, 0, tzinfo=UTC),
        payment_id="PAY-5566",
        order_reference="REF-9",
    )
    wire = api.get(f"/accounts/{account_id}/invoices/{first['id']}").json()
    assert (wire["daysOverdue"], Decimal(str(wire["interest"]))) == (5, Decimal("5.00"))

    response = api.get(f"/accounts/{account_id}/invoices/{first['id']}/pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == PDF
    assert (
        response.headers["content-disposition"] == f'attachment; filename="invoice-{first["friendlyId"]}.pdf"'
    )
    text = pdf_text(response.content)
    assert "ACME Tools Ltda" in text
    assert f"Invoice {first['friendlyId']}" in text
    for label, value in (
        ("Invoice id", first["id"]),
        ("Friendly id", first["friendlyId"]),
        ("Account", account_id),
        ("Account owner", "buyer@example.com"),
        ("Installment", "1 of 2"),
        ("Order", "ORD-77"),
        ("Payment id", "PAY-5566"),
        ("Reference", "REF-9"),
        ("Status", "Opened"),
        ("Issued", "2026-02-10"),
        ("Due date", "2026-03-15"),
        ("Original due date", "2026-03-09"),
        ("Value (USD)", "123.45"),
        ("Paid (USD)", "23.45"),
        ("Still owed (USD)", "100.00"),
        ("Days overdue", str(wire["daysOverdue"])),
        ("Late interest (USD)", f"{Decimal(str(wire['interest'])):.2f}"),
        ("Payment link", "https://pay.example/inv/1"),
    ):
        assert line(text, label, value), f"{label} {value} not in:\n{text}"
    assert "as of 2026-03-20 12:00 (America/Sao_Paulo)" in text
    assert "Bank transfer to IBAN DE00 1234 5678" in text and "Quote the invoice id." in text
    assert not has_image(response.content)
    # The same figures at the same moment give the same file, byte for byte.
    assert api.get(f"/accounts/{account_id}/invoices/{first['id']}/pdf").content == response.content


def test_a_paid_invoice_owes_nothing_and_has_no_lateness(api, store, frozen_clock):
    frozen_clock.set(NOW)
    configure(api, dailyInterestRate="0.01")
    account_id = open_account(api, credit_limit="5000")["id"]
    (invoice,) = buy(api, account_id, "1234.56")
    set_invoice(store, invoice["id"], due_at=datetime(2026, 3, 1, tzinfo=UTC))
    assert api.post(f"/accounts/{account_id}/invoices/{invoice['id']}/payments").status_code == 200
    text = pdf_text(api.get(f"/accounts/{account_id}/invoices/{invoice['id']}/pdf").content)
    store_name = store.name
    assert store_name in text  # no display name: the store's own name
    assert line(text, "Status", "Paid")
    assert line(text, "Value (USD)", "1234.56") and line(text, "Paid (USD)", "1234.56")
    assert line(text, "Still owed (USD)", "0.00") and line(text, "Late interest (USD)", "0.00")
    assert line(text, "Days overdue", "0") and "Payment id" not in text and "How to pay" not in text


def test_the_logo_is_embedded_when_set(api, store, frozen_clock):
    account_id = open_account(api)["id"]
    (invoice,) = buy(api, account_id, "10")
    set_store(store, logo=png(), logo_media_type="image/png", display_name="With Logo")
    response = api.get(f"/accounts/{account_id}/invoices/{invoice['id']}/pdf")
    assert response.status_code == 200 and has_image(response.content)
    assert "With Logo" in pdf_text(response.content)


def test_read_invoices_is_needed(store, api):
    account_id = open_account(api)["id"]
    (invoice,) = buy(api, account_id, "10")
    path = f"/accounts/{account_id}/invoices/{invoice['id']}/pdf"
    refused = store.api([resources.READ_STATEMENTS, resources.READ_ACCOUNTS]).get(path)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "Forbidden"
    allowed = store.api([resources.READ_INVOICES]).get(path)
    assert allowed.status_code == 200 and allowed.headers["content-type"] == PDF
    anonymous = api.http.get(f"/api/creditcontrol{path}")
    assert anonymous.status_code == 401


def test_unknown_and_other_stores_invoices_are_404(api, other_api):
    account_id = open_account(api)["id"]
    (invoice,) = buy(api, account_id, "10")
    other_account = open_account(api)["id"]
    for path, code in (
        (f"/accounts/{account_id}/invoices/{invoice['id']}-nope/pdf", "InvoiceNotFound"),
        # The invoice exists, but not on this account.
        (f"/accounts/{other_account}/invoices/{invoice['id']}/pdf", "InvoiceNotFound"),
    ):
        response = api.get(path)
        assert response.status_code == 404 and response.json()["error"]["code"] == code
    foreign = other_api.get(f"/accounts/{account_id}/invoices/{invoice['id']}/pdf")
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "InvoiceNotFound"
