"""Credit notes and write-offs, on SQLite and PostgreSQL, through the API and the service layer:
numbered documents that take part of what is owed off an Opened invoice, each with its ledger
entry (Invoice, +amount, naming the document), its event and its line in the statements; refused
beyond what is owed, on a cancelled or paid invoice, for bad input and without Edit credits;
applied once per client reference; bounded with refunds and cancellations by what was settled."""

import csv
import io
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from customer_credit.auth.resources import EDIT_CREDITS, READ_INVOICES
from customer_credit.credit_control import adjustments
from customer_credit.credit_control.models import CREDIT_NOTE, WRITE_OFF, InvoiceAdjustment
from customer_credit.csv_io import export
from customer_credit.errors import Conflict, InvalidInput
from customer_credit.events.outbox import sequence_pending
from customer_credit.invoices.models import Invoice
from customer_credit.invoices.queries import InvoiceFilters
from customer_credit.ledger.service import recompute_mismatches
from tests.documents.support import pdf_text
from tests.helpers import account, dec, open_account, purchase

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def invoices_of(api, account_id: str) -> list[dict]:
    response = api.get(f"/accounts/{account_id}/invoices")
    assert response.status_code == 200, response.text
    return sorted(response.json()["data"], key=lambda invoice: invoice["installment"])


def an_invoice(api, value="100", installments=1) -> tuple[str, str, list[dict]]:
    opened = open_account(api, credit_limit="10000")
    transaction_id = purchase(api, opened["id"], value, installments=installments)
    return opened["id"], transaction_id, invoices_of(api, opened["id"])


def post(api, account_id: str, invoice_id: str, kind: str, **body):
    return api.post(f"/accounts/{account_id}/invoices/{invoice_id}/{kind}", json=body)


def credit_note(api, account_id, invoice_id, value, reason="damaged goods", **extra) -> dict:
    response = post(api, account_id, invoice_id, "creditnotes", value=value, reason=reason, **extra)
    assert response.status_code == 200, response.text
    return response.json()


def write_off(api, account_id, invoice_id, value, reason="customer insolvent", **extra) -> dict:
    response = post(api, account_id, invoice_id, "writeoffs", value=value, reason=reason, **extra)
    assert response.status_code == 200, response.text
    return response.json()


def statements(api, account_id: str) -> list[dict]:
    response = api.get(f"/accounts/{account_id}/statements")
    assert response.status_code == 200, response.text
    return response.json()["statements"]


def error_code(response) -> str:
    assert response.status_code == 409, response.text
    return response.json()["error"]["code"]


def field_of(response) -> str:
    assert response.status_code == 400, response.text
    return response.json()["error"]["details"][0]["field"]


def books_are_right(database, store) -> None:
    with database.read() as session:
        assert recompute_mismatches(session, store.id) == []


def store_events(api, event_type: str) -> list[dict]:
    while True:
        with api.store.database.write() as session:
            if not sequence_pending(session):
                break
    response = api.get("/events", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return [event for event in response.json()["data"] if event["type"] == event_type]


# --- through the API --------------------------------------------------------------------------


def test_a_credit_note_reduces_what_is_owed_and_is_in_the_ledger(api, database, store):
    account_id, transaction_id, [invoice] = an_invoice(api, "100")
    document = credit_note(api, account_id, invoice["id"], "30.25", reference="ERP-CN-1")
    assert document["number"] == "CN-000001"
    assert document["type"] == "creditNote"
    assert dec(document["value"]) == Decimal("30.25")
    assert (document["reason"], document["reference"]) == ("damaged goods", "ERP-CN-1")
    assert (document["invoiceId"], document["creditAccountId"]) == (invoice["id"], account_id)

    [after] = invoices_of(api, account_id)
    assert after["status"] == "Opened"
    assert dec(after["value"]) == Decimal("69.75")
    assert dec(after["creditedValue"]) == Decimal("30.25")
    assert dec(after["writtenOffValue"]) == 0
    assert dec(account(api, account_id)["balance"]) == Decimal("-69.75")

    entry = statements(api, account_id)[-1]
    assert entry["origin"] == "Invoice"
    assert dec(entry["value"]) == Decimal("30.25")
    assert entry["metadata"]["creditNote"] == "CN-000001"
    assert entry["metadata"]["transactionId"] == transaction_id
    books_are_right(database, store)


def test_numbers_follow_each_other_per_store_and_kind(api, other_api):
    account_id, _, [invoice] = an_invoice(api, "100")
    numbers = [credit_note(api, account_id, invoice["id"], "1")["number"] for _ in range(3)]
    assert numbers == ["CN-000001", "CN-000002", "CN-000003"]
    assert write_off(api, account_id, invoice["id"], "1")["number"] == "WO-000001"
    other_account, _, [other_invoice] = an_invoice(other_api, "50")
    assert credit_note(other_api, other_account, other_invoice["id"], "1")["number"] == "CN-000001"


def test_writing_off_the_rest_resolves_the_invoice(api, database, store):
    account_id, _, [unpaid, partly_paid] = an_invoice(api, "200", installments=2)
    paid = api.post(f"/accounts/{account_id}/invoices/{partly_paid['id']}/payments", json={"value": "40"})
    assert paid.status_code == 200, paid.text

    write_off(api, account_id, unpaid["id"], "100")
    write_off(api, account_id, partly_paid["id"], "60")
    first, second = invoices_of(api, account_id)
    # Nothing was paid on the first: it owes nothing and was never paid, like a refund to zero.
    assert (first["status"], dec(first["value"]), dec(first["writtenOffValue"])) == ("Cancelled", 0, 100)
    assert (second["status"], dec(second["value"]), dec(second["creditValue"])) == ("Paid", 40, 40)
    assert dec(account(api, account_id)["balance"]) == 0
    # Nothing is left owing: the account may close.
    closed = api.delete(f"/accounts/{account_id}")
    assert closed.status_code == 200, closed.text
    books_are_right(database, store)


def test_more_than_is_open_is_refused_and_changes_nothing(api, database, store):
    account_id, _, [invoice] = an_invoice(api, "100")
    api.post(f"/accounts/{account_id}/invoices/{invoice['id']}/payments", json={"value": "30"})
    assert error_code(post(api, account_id, invoice["id"], "writeoffs", value="70.01", reason="x")) == (
        "WriteOffExceedsOwed"
    )
    assert error_code(post(api, account_id, invoice["id"], "creditnotes", value="70.01", reason="x")) == (
        "CreditNoteExceedsOwed"
    )
    [after] = invoices_of(api, account_id)
    assert (dec(after["value"]), dec(after["creditValue"]), after["status"]) == (100, 30, "Opened")
    assert len(statements(api, account_id)) == 2  # the settlement and the payment
    with database.read() as session:
        assert (
            session.scalars(select(InvoiceAdjustment).where(InvoiceAdjustment.store_id == store.id)).all()
            == []
        )
    # Exactly what is owed is fine.
    write_off(api, account_id, invoice["id"], "70")
    books_are_right(database, store)


def test_a_cancelled_or_paid_invoice_takes_no_credit_note(api):
    account_id, _, [cancelled, paid] = an_invoice(api, "100", installments=2)
    assert api.delete(f"/accounts/{account_id}/invoices/{cancelled['id']}").status_code == 200
    assert api.post(f"/accounts/{account_id}/invoices/{paid['id']}/payments", json={}).status_code == 200
    assert error_code(post(api, account_id, cancelled["id"], "creditnotes", value="1", reason="x")) == (
        "InvoiceCancelled"
    )
    assert error_code(post(api, account_id, cancelled["id"], "writeoffs", value="1", reason="x")) == (
        "InvoiceCancelled"
    )
    assert error_code(post(api, account_id, paid["id"], "creditnotes", value="1", reason="x")) == (
        "InvoiceAlreadyPaid"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"value": "0", "reason": "x"}, "value"),
        ({"value": "-5", "reason": "x"}, "value"),
        ({"value": "1.005", "reason": "x"}, "value"),
        ({"value": "abc", "reason": "x"}, "value"),
        ({"reason": "x"}, "value"),
        ({"value": "1"}, "reason"),
        ({"value": "1", "reason": "   "}, "reason"),
        ({"value": "1", "reason": "x" * 501}, "reason"),
        ({"value": "1", "reason": "x", "reference": "a\x00b"}, "reference"),
        ({"value": "1", "reason": "x", "reference": "r" * 201}, "reference"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, body, field):
    account_id, _, [invoice] = an_invoice(api, "100")
    assert field_of(post(api, account_id, invoice["id"], "creditnotes", **body)) == field
    assert field_of(post(api, account_id, invoice["id"], "writeoffs", **body)) == field


def test_unknown_account_or_invoice_is_a_404(api, other_api):
    account_id, _, [invoice] = an_invoice(api, "100")
    other_account = open_account(api)["id"]
    assert post(api, other_account, invoice["id"], "creditnotes", value="1", reason="x").status_code == 404
    assert post(api, account_id, "NOPE-01", "writeoffs", value="1", reason="x").status_code == 404
    # Another store's key never reaches this store's invoice.
    assert post(other_api, account_id, invoice["id"], "creditnotes", value="1", reason="x").status_code == 404


def test_a_key_without_edit_credits_is_refused(api, store):
    account_id, _, [invoice] = an_invoice(api, "100")
    reader = store.api(resources=(READ_INVOICES,))
    assert post(reader, account_id, invoice["id"], "creditnotes", value="1", reason="x").status_code == 403
    assert post(reader, account_id, invoice["id"], "writeoffs", value="1", reason="x").status_code == 403
    # Reading the documents is reading invoices.
    assert reader.get(f"/accounts/{account_id}/invoices/{invoice['id']}/adjustments").status_code == 200
    editor = store.api(resources=(EDIT_CREDITS,))
    assert post(editor, account_id, invoice["id"], "writeoffs", value="1", reason="x").status_code == 200


def test_the_same_reference_applies_once(api, database, store):
    account_id, _, [invoice, second] = an_invoice(api, "100", installments=2)
    first = credit_note(api, account_id, invoice["id"], "10", reference="ERP-7")
    again = credit_note(api, account_id, invoice["id"], "10", reference="ERP-7")
    assert again == first
    [after, _] = invoices_of(api, account_id)
    assert dec(after["value"]) == 40
    assert sum(1 for entry in statements(api, account_id) if entry["metadata"].get("creditNote")) == 1
    # The same reference for anything else is a conflict, never a second document.
    for value, invoice_id in (("11", invoice["id"]), ("10", second["id"])):
        refused = post(api, account_id, invoice_id, "creditnotes", value=value, reason="x", reference="ERP-7")
        assert error_code(refused) == "AdjustmentReferenceReused"
    # References are per kind: a write-off may carry the same one.
    assert write_off(api, account_id, invoice["id"], "1", reference="ERP-7")["number"] == "WO-000001"
    books_are_right(database, store)


def test_a_refund_is_bounded_by_what_credit_notes_took(api, database, store):
    account_id, transaction_id, [invoice] = an_invoice(api, "100")
    credit_note(api, account_id, invoice["id"], "30")
    refunds = f"/accounts/{account_id}/transactions/{transaction_id}/refunds"
    too_much = api.post(refunds, json={"value": "70.01"})
    assert error_code(too_much) == "RefundExceedsSettlement"
    assert "credited or written off 30.00" in too_much.json()["error"]["message"]
    assert api.post(refunds, json={"value": "70"}).status_code == 200
    [after] = invoices_of(api, account_id)
    assert (after["status"], dec(after["value"])) == ("Cancelled", 0)
    assert dec(account(api, account_id)["balance"]) == 0
    books_are_right(database, store)


def test_documents_are_listed_per_invoice_and_store_wide(api, other_api):
    account_id, _, [first, second] = an_invoice(api, "100", installments=2)
    credit_note(api, account_id, first["id"], "5")
    write_off(api, account_id, second["id"], "7")
    credit_note(api, account_id, second["id"], "3")
    other_account, _, [other_invoice] = an_invoice(other_api, "50")
    credit_note(other_api, other_account, other_invoice["id"], "1")

    on_second = api.get(f"/accounts/{account_id}/invoices/{second['id']}/adjustments").json()["data"]
    assert [doc["number"] for doc in on_second] == ["CN-000002", "WO-000001"]  # newest first

    listed = api.get("/adjustments").json()
    assert listed["summary"]["count"] == 3
    assert [doc["number"] for doc in listed["data"]] == ["CN-000002", "WO-000001", "CN-000001"]
    notes = api.get("/adjustments", params={"type": "creditNote", "from": 1, "to": 1}).json()
    assert notes["summary"]["count"] == 2 and [doc["number"] for doc in notes["data"]] == ["CN-000002"]
    assert field_of(api.get("/adjustments", params={"type": "refund"})) == "type"
    assert api.get("/adjustments", params={"creditAccountId": "nobody"}).status_code == 404


def test_each_document_is_an_event_with_its_ledger_entry(api):
    account_id, _, [invoice] = an_invoice(api, "100")
    credit_note(api, account_id, invoice["id"], "10", reason="late delivery")
    write_off(api, account_id, invoice["id"], "90", reason="bankrupt")
    [issued] = [
        e for e in store_events(api, "invoice.credit_note_issued") if e["data"]["account"]["id"] == account_id
    ]
    assert issued["data"]["changes"]["creditNote"]["number"] == "CN-000001"
    assert issued["data"]["changes"]["value"] == {"from": 100, "to": 90}
    assert issued["data"]["invoice"]["creditedValue"] == 10
    [entry] = issued["data"]["ledgerEntries"]
    assert (entry["origin"], entry["value"]) == ("Invoice", 10)
    [written] = [
        e for e in store_events(api, "invoice.written_off") if e["data"]["account"]["id"] == account_id
    ]
    assert written["data"]["changes"]["writeOff"]["reason"] == "bankrupt"
    assert written["data"]["invoice"]["status"] == "Cancelled"


# --- the service layer ------------------------------------------------------------------------


def test_the_service_refuses_like_the_api(api, database, store):
    account_id, _, [invoice] = an_invoice(api, "100")
    principal = store.principal(name="finance@example.com")
    with pytest.raises(Conflict) as refused, database.write() as session:
        adjustments.issue(
            session,
            principal,
            account_id,
            invoice["id"],
            kind=WRITE_OFF,
            value=Decimal("100.01"),
            reason="x",
            now=NOW,
        )
    assert refused.value.code == "WriteOffExceedsOwed"
    with pytest.raises(InvalidInput) as bad, database.write() as session:
        adjustments.issue(
            session,
            principal,
            account_id,
            invoice["id"],
            kind=CREDIT_NOTE,
            value=Decimal("0.001"),
            reason="x",
            now=NOW,
        )
    assert bad.value.details[0]["field"] == "value"
    with database.write() as session:
        document, new = adjustments.issue(
            session,
            principal,
            account_id,
            invoice["id"],
            kind=CREDIT_NOTE,
            value=Decimal("12.34"),
            reason="goodwill",
            now=NOW,
        )
        assert new and document.created_by == "finance@example.com"
    books_are_right(database, store)


def test_check_finds_an_invoice_whose_credited_amount_was_tampered_with(api, database, store):
    account_id, _, [invoice] = an_invoice(api, "100")
    credit_note(api, account_id, invoice["id"], "10")
    with database.write() as session:
        session.execute(
            update(Invoice)
            .where(Invoice.public_id == invoice["id"], Invoice.store_id == store.id)
            .values(credited_cents=500)
        )
    with database.read() as session:
        found = recompute_mismatches(session, store.id)
    # The stored 5.00 against the 10.00 the ledger's credit note entry says.
    assert [(m.field, m.stored, m.recomputed) for m in found] == [
        (f"transaction {invoice['transactionId']} credited + written off", 500, 1000)
    ]


@pytest.mark.postgresql_only
def test_concurrent_documents_never_take_more_than_is_owed(api, database, store):
    """Eight credit notes of 20 race for an invoice that owes 100: five go through, three are
    refused (the invoice owes nothing by then), the numbers are unique and without gaps, and
    the books agree."""
    account_id, _, [invoice] = an_invoice(api, "100")
    principal = store.principal()
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def one() -> None:
        barrier.wait()
        try:
            with database.write() as session:
                adjustments.issue(
                    session,
                    principal,
                    account_id,
                    invoice["id"],
                    kind=CREDIT_NOTE,
                    value=Decimal(20),
                    reason="race",
                    now=NOW,
                )
            outcomes.append("done")
        except Conflict as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The fifth leaves nothing owed: the invoice is resolved, and the last three find it so.
    assert sorted(outcomes) == ["InvoiceCancelled"] * 3 + ["done"] * 5
    with database.read() as session:
        numbers = session.scalars(
            select(InvoiceAdjustment.number).where(InvoiceAdjustment.store_id == store.id)
        ).all()
    assert sorted(numbers) == [f"CN-00000{n}" for n in range(1, 6)]
    [after] = invoices_of(api, account_id)
    assert (after["status"], dec(after["value"])) == ("Cancelled", 0)
    books_are_right(database, store)


def test_documents_and_reduced_invoices_appear_in_the_exports(api, database, store):
    account_id, _, [invoice] = an_invoice(api, "100")
    credit_note(api, account_id, invoice["id"], "10", reason='says "sorry", twice', reference="=HYPERLINK()")
    write_off(api, account_id, invoice["id"], "5")
    response = api.get("/adjustments.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(row["number"], row["type"], row["value"]) for row in rows] == [
        ("CN-000001", "creditNote", "10.00"),
        ("WO-000001", "writeOff", "5.00"),
    ]
    assert rows[0]["reason"] == 'says "sorry", twice'
    assert not rows[0]["reference"].startswith("=")  # a formula is never a live cell
    assert rows[0]["invoiceId"] == invoice["id"] and rows[0]["creditAccountId"] == account_id

    exported = "".join(export.invoices_csv(database, store.principal(), InvoiceFilters(), now=NOW))
    [row] = [r for r in csv.DictReader(io.StringIO(exported)) if r["id"] == invoice["id"]]
    assert (row["value"], row["creditedValue"], row["writtenOffValue"]) == ("85.00", "10.00", "5.00")


def test_the_invoice_pdf_and_the_statement_pdf_show_the_documents(api):
    account_id, _, [invoice] = an_invoice(api, "100")
    credit_note(api, account_id, invoice["id"], "12.34")
    write_off(api, account_id, invoice["id"], "7.66")
    response = api.get(f"/accounts/{account_id}/invoices/{invoice['id']}/pdf")
    assert response.status_code == 200, response.text
    text = " ".join(pdf_text(response.content).split())
    assert "Credit notes, off the value (USD) 12.34" in text
    assert "Written off, off the value (USD) 7.66" in text
    assert "Value (USD) 80.00" in text
    statement = api.get(f"/accounts/{account_id}/statements/pdf")
    assert statement.status_code == 200, statement.text
    lines = " ".join(pdf_text(statement.content).split())
    assert "creditNote: CN-000001" in lines and "writeOff: WO-000001" in lines
