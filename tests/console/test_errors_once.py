"""A refused console form says why once, beside what was sent, in the words of the field's label
(never the API's field name), in the store's language; an action the rules refuse right now is
a disabled button that gives the reason. SQLite and PostgreSQL."""

import re
from html import unescape

import pytest

from tests.console.support import signed_in
from tests.console.test_pages import configure_presentation
from tests.helpers import hold, open_account, purchase

ERROR_TEXTS = re.compile(r'<(?:p|div) class="(?:field-error|msg msg-error)"[^>]*>(.*?)</(?:p|div)>', re.S)


def shown_errors(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", unescape(text)).strip() for text in ERROR_TEXTS.findall(html)]


@pytest.fixture
def account_id(api):
    return open_account(api, credit_limit="500")["id"]


@pytest.mark.parametrize(
    ("path", "form", "expected"),
    [
        ("limit", {"creditLimit": "abc"}, "New credit limit: must be an amount such as 25,000.00"),
        ("tolerance", {"tolerance": "abc"}, "New tolerance (%): must be a percentage such as 2.5%"),
        ("holders", {"holderEmail": "nope"}, "Holder e-mail: must be an e-mail address"),
        (
            "my-credits-links",
            {"email": "a@example.com", "hours": "abc"},
            "Valid for (hours): must be a whole number of hours",
        ),
        (
            "trust-level",
            {"trustLevel": "zzz", "reason": ""},
            "Trust level: must be one of good, normal, watch",
        ),
    ],
)
def test_a_field_refusal_is_shown_once_by_the_field(app, store, account_id, path, form, expected):
    refused = signed_in(app, store).post(f"/admin/accounts/{account_id}/{path}", form)
    assert refused.status_code == 400
    assert shown_errors(refused.text) == [expected]
    for api_name in ("creditLimit:", "claims.email", "tolerance:", "hours:"):
        assert api_name not in " ".join(shown_errors(refused.text))


def test_the_field_in_error_takes_the_focus(app, store, account_id):
    refused = signed_in(app, store).post(f"/admin/accounts/{account_id}/limit", {"creditLimit": "abc"})
    field = re.search(r'<input id="creditLimit"[^>]*>', refused.text)
    assert field is not None and 'aria-invalid="true"' in field.group(0) and "autofocus" in field.group(0)


def test_a_new_account_refusal_is_once_by_its_field(app, store):
    refused = signed_in(app, store).post(
        "/admin/accounts/new",
        {"document": "12345678909", "documentType": "CPF", "email": "a@example.com", "creditLimit": "x"},
    )
    assert refused.status_code == 400
    assert shown_errors(refused.text) == ["Credit limit: must be an amount such as 25,000.00"]


def test_a_refusal_that_names_no_field_is_shown_once_by_its_form(app, store, api, account_id):
    assert hold(api, account_id, "50", settle=False).status_code == 200
    refused = signed_in(app, store).post(f"/admin/accounts/{account_id}/close")
    assert refused.status_code == 409
    assert shown_errors(refused.text) == [
        "the account has open invoices or live holds; settle or cancel them first"
    ]


def test_refusals_in_a_pt_br_store_use_its_words(app, store, account_id):
    console = signed_in(app, store)
    configure_presentation(console, locale="pt_BR", currency="BRL")
    refused = console.post(f"/admin/accounts/{account_id}/limit", {"creditLimit": "1,2,3"})
    assert shown_errors(refused.text) == ["Novo limite de crédito: deve ser um valor como 25.000,00"]


def test_a_close_refused_by_the_rules_is_a_disabled_button_with_the_reason(app, store, api, account_id):
    console = signed_in(app, store)
    configure_presentation(console, locale="pt_BR", currency="BRL")
    assert hold(api, account_id, "50", settle=False).status_code == 200
    page = console.get(f"/admin/accounts/{account_id}").text
    close_form = page.split(f'action="/admin/accounts/{account_id}/close"')[1].split("</form>")[0]
    assert re.search(r"<button[^>]*disabled[^>]*>", close_form)
    assert "Agora não: a conta tem faturas em aberto ou reservas ativas" in unescape(close_form)


def invoice_of(api, account_id: str) -> dict:
    return api.get(f"/accounts/{account_id}/invoices").json()["data"][0]


def form_of(page: str, action: str) -> str:
    return page.split(f'action="{action}"')[1].split("</form>")[0]


def test_a_paid_invoice_shows_cancel_disabled_with_the_reason(app, store, api, account_id):
    purchase(api, account_id, "80")
    invoice = invoice_of(api, account_id)
    url = f"/admin/accounts/{account_id}/invoices/{invoice['id']}"
    console = signed_in(app, store)
    open_page = console.get(url).text
    assert "disabled" not in form_of(open_page, f"{url}/cancel")
    assert api.post(f"/accounts/{account_id}/invoices/{invoice['id']}/payments").status_code < 300
    cancel_form = form_of(console.get(url).text, f"{url}/cancel")
    assert re.search(r"<button[^>]*disabled", cancel_form)
    assert 'data-refusal="InvoiceAlreadyPaid"' in cancel_form
    assert "a paid invoice can no longer be cancelled" in cancel_form


def test_postponing_refused_by_the_store_is_disabled_with_the_reason(app, store, api, account_id):
    purchase(api, account_id, "80")
    invoice = invoice_of(api, account_id)
    url = f"/admin/accounts/{account_id}/invoices/{invoice['id']}"
    console = signed_in(app, store)
    configure_presentation(console)  # postponements off
    postpone_form = form_of(console.get(url).text, f"{url}/postpone")
    assert re.search(r"<button[^>]*disabled", postpone_form)
    assert "this store does not allow postponements" in postpone_form
    configure_presentation(
        console, invoicePostponementLimit="2", maxPostponementDays="10", postponementEnabled="on"
    )
    allowed = form_of(console.get(url).text, f"{url}/postpone")
    assert "disabled" not in allowed and "data-refusal" not in allowed


def test_an_invoice_form_refusal_is_shown_once_by_its_field(app, store, api, account_id):
    purchase(api, account_id, "80")
    invoice = invoice_of(api, account_id)
    url = f"/admin/accounts/{account_id}/invoices/{invoice['id']}"
    refused = signed_in(app, store).post(f"{url}/pay", {"value": "abc"})
    assert refused.status_code == 400
    assert shown_errors(refused.text) == ["Amount received: must be an amount such as 25,000.00"]
