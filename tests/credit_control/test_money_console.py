"""Credit notes, write-offs, balance applications and dunning levels in the console, on SQLite and
PostgreSQL: the invoice page's forms (operators who may change things, CSRF-checked), its table
of documents, an error shown once by its field, the settings page's dunning section; what a
form changes is read back through the API."""

import pytest

from customer_credit.users import service as users
from tests.console.support import signed_in
from tests.credit_control.test_adjustments import an_invoice, invoices_of
from tests.credit_control.test_apply_balance import credit_of, new_invoice, unapplied
from tests.helpers import dec


@pytest.fixture(scope="module", autouse=True)
def cheap_password_hashes():
    users.configure_hasher(time_cost=1, memory_kib=1024)
    yield
    users.configure_hasher()


def invoice_page(account_id: str, invoice_id: str) -> str:
    return f"/admin/accounts/{account_id}/invoices/{invoice_id}"


def section(html: str, title: str) -> str:
    return html.split(f'aria-labelledby="{title}"')[1].split("</form>")[0]


def test_an_operator_issues_a_credit_note_and_sees_it_listed(app, store, api):
    account_id, _, [invoice] = an_invoice(api, "100")
    console = signed_in(app, store)
    page = console.get(invoice_page(account_id, invoice["id"]))
    assert page.status_code == 200
    assert "Credit note or write-off" in page.text
    assert 'aria-labelledby="apply-title"' not in page.text  # no credit to apply

    made = console.post(
        invoice_page(account_id, invoice["id"]) + "/adjust",
        {"kind": "creditNote", "adjustValue": "15.50", "reason": "broken box", "reference": "RMA-3"},
    )
    assert made.status_code == 303, made.text
    assert made.headers["location"] == invoice_page(account_id, invoice["id"])
    [after] = invoices_of(api, account_id)
    assert (dec(after["value"]), dec(after["creditedValue"])) == (dec("84.50"), dec("15.50"))
    shown = console.get(invoice_page(account_id, invoice["id"])).text
    assert "Credit note CN-000001 issued." in shown
    table = shown.split('aria-labelledby="documents-title"')[1].split("</section>")[0]
    assert 'data-document="CN-000001"' in table and "broken box" in table and "RMA-3" in table
    assert "credit notes $15.50" in shown

    written = console.post(
        invoice_page(account_id, invoice["id"]) + "/adjust",
        {"kind": "writeOff", "adjustValue": "84.50", "reason": "gone"},
    )
    assert written.status_code == 303
    [closed] = invoices_of(api, account_id)
    assert (closed["status"], dec(closed["writtenOffValue"])) == ("Cancelled", dec("84.50"))


def test_a_refused_document_shows_its_error_once_by_its_field(app, store, api):
    account_id, _, [invoice] = an_invoice(api, "100")
    console = signed_in(app, store)
    url = invoice_page(account_id, invoice["id"]) + "/adjust"
    for data, status, message in (
        ({"kind": "writeOff", "adjustValue": "100.01", "reason": "x"}, 409, "exceeds what is owed"),
        ({"kind": "writeOff", "adjustValue": "0", "reason": "x"}, 400, "Amount: must be greater than 0"),
        ({"kind": "creditNote", "adjustValue": "5", "reason": ""}, 400, "Reason: is required"),
        ({"kind": "refund", "adjustValue": "5", "reason": "x"}, 400, "Document: choose"),
    ):
        refused = console.post(url, data)
        assert refused.status_code == status, refused.text
        assert message in refused.text
        form = section(refused.text, "adjust-title")
        if status == 400:
            assert form.count(message) == 1
            # The payment form's amount field is not the one marked.
            assert "has-error" not in section(refused.text, "pay-title")
    [unchanged] = invoices_of(api, account_id)
    assert dec(unchanged["value"]) == 100


def test_the_balance_form_appears_with_credit_and_pays_from_it(app, store, api):
    account_id = credit_of(api, "40")
    invoice = new_invoice(api, account_id, "25")
    console = signed_in(app, store)
    page = console.get(invoice_page(account_id, invoice["id"])).text
    form = section(page, "apply-title")
    assert "holds $40.00 of credit" in form and 'value="25.00"' in form
    paid = console.post(invoice_page(account_id, invoice["id"]) + "/apply-balance", {"applyValue": "25"})
    assert paid.status_code == 303, paid.text
    assert dec(unapplied(api, account_id)["unappliedBalance"]) == 15
    [after] = [i for i in invoices_of(api, account_id) if i["id"] == invoice["id"]]
    assert after["status"] == "Paid"

    other = new_invoice(api, account_id, "50")
    refused = console.post(invoice_page(account_id, other["id"]) + "/apply-balance", {"applyValue": "45"})
    assert refused.status_code == 409 and "of balance to apply" in refused.text


def test_a_viewer_sees_the_documents_but_not_the_forms(app, store, api):
    account_id, _, [invoice] = an_invoice(api, "100")
    api.post(
        f"/accounts/{account_id}/invoices/{invoice['id']}/creditnotes",
        json={"value": "1", "reason": "goodwill"},
    )
    viewer = signed_in(app, store, "viewer")
    page = viewer.get(invoice_page(account_id, invoice["id"])).text
    assert 'data-document="CN-000001"' in page and "Credit note or write-off" not in page
    refused = viewer.post(
        invoice_page(account_id, invoice["id"]) + "/adjust",
        {"kind": "writeOff", "adjustValue": "1", "reason": "x"},
    )
    assert refused.status_code == 403
    assert dec(invoices_of(api, account_id)[0]["value"]) == 99


def test_dunning_levels_are_saved_from_the_settings_page(app, store, api):
    console = signed_in(app, store)
    page = console.get("/admin/settings").text
    assert 'id="dunning"' in page and 'name="level-0-days"' in page
    saved = console.post(
        "/admin/settings/dunning",
        {
            "level-0-days": "10",
            "level-0-name": "Firm",
            "level-0-fixed": "5",
            "level-0-rate": "0.02",
            "level-1-days": "3",
            "level-1-name": "Friendly",
            "level-1-subject": "{{ dunning_level }} reminder",
            "level-1-textBody": "Please pay {{ amount_due }}.",
        },
    )
    assert saved.status_code == 303, saved.text
    levels = api.get("/dunninglevels").json()["levels"]
    assert [(level["days"], level["name"], level["subject"]) for level in levels] == [
        (3, "Friendly", "{{ dunning_level }} reminder"),
        (10, "Firm", None),
    ]
    assert dec(levels[1]["lateFee"]["rate"]) == dec("0.02")
    shown = console.get("/admin/settings").text
    assert shown.count("data-dunning-level") == 2

    refused = console.post(
        "/admin/settings/dunning",
        {
            "level-0-days": "3",
            "level-0-name": "A",
            "level-1-days": "3",
            "level-1-name": "B",
            "level-2-rate": "2",
        },
    )
    assert refused.status_code == 400, refused.text
    assert "The dunning levels were not saved" in refused.text
    # The row's own field is marked; what was typed is kept.
    assert 'value="B"' in refused.text
    levels_after = api.get("/dunninglevels").json()["levels"]
    assert [level["days"] for level in levels_after] == [3, 10]
