"""Numbers typed as the console shows them (console/numbers.py): each store's locale, with or
without the currency, and tolerance as a percentage; then the same through the account forms of
an en_US and a pt_BR store."""

from decimal import Decimal

import pytest

from customer_credit.console.numbers import NumberError, parse_amount, parse_number, parse_rate
from tests.console.support import signed_in
from tests.console.test_pages import configure_presentation
from tests.helpers import account, dec, open_account, purchase

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("locale", "text", "expected"),
    [
        ("en_US", "25,000.00", "25000.00"),
        ("en_US", "25000", "25000.00"),
        ("en_US", "25000.5", "25000.50"),
        ("en_US", "1,234,567.89", "1234567.89"),
        ("en_US", "$25,000.00", "25000.00"),
        ("en_US", "$ 25,000.00", "25000.00"),
        ("en_US", "USD 10", "10.00"),
        ("en_US", "10 USD", "10.00"),
        ("en_US", f" {NBSP}25,000.00{NBSP} ", "25000.00"),
        ("en_US", ".5", "0.50"),
        ("en_US", "0", "0.00"),
        ("pt_BR", "22.600,00", "22600.00"),
        ("pt_BR", "22600,00", "22600.00"),
        ("pt_BR", "1500", "1500.00"),
        ("pt_BR", "1.500", "1500.00"),
        ("pt_BR", "R$ 22.500,00", "22500.00"),
        ("pt_BR", f"R${NBSP}22.500,00", "22500.00"),
        ("pt_BR", "R$22.500,00", "22500.00"),
        ("pt_BR", "BRL 10,5", "10.50"),
        # Plain notation (what the API, exports and prefilled fields write) when the locale's
        # own reading refuses it.
        ("pt_BR", "22500.00", "22500.00"),
        ("pt_BR", "1.50", "1.50"),
        ("fr_FR", "1\u202f500,00", "1500.00"),
        ("fr_FR", "1 500,00", "1500.00"),
        ("nonsense", "25,000.00", "25000.00"),
    ],
)
def test_amounts_in_each_locale(locale, text, expected):
    value = parse_amount(text, locale)
    assert value == Decimal(expected) and value.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("locale", "text", "message"),
    [
        ("en_US", "1,2,3", "Credit limit must be an amount such as 25,000.00"),
        ("en_US", "25,00", "Credit limit must be an amount such as 25,000.00"),
        ("en_US", "1,50", "Credit limit must be an amount such as 25,000.00"),
        ("en_US", "12.345", "Credit limit must have at most 2 decimal places"),
        ("en_US", "abc", "Credit limit must be an amount such as 25,000.00"),
        ("en_US", "12abc", "Credit limit must be an amount such as 25,000.00"),
        ("en_US", "", "Credit limit must be an amount such as 25,000.00"),
        ("en_US", "   ", "Credit limit must be an amount such as 25,000.00"),
        ("en_US", "1e5", "Credit limit must be an amount such as 25,000.00"),
        ("en_US", "\u0661\u0662", "Credit limit must be an amount such as 25,000.00"),
        ("en_US", "NaN", "Credit limit must be an amount such as 25,000.00"),
        ("en_US", "25 000", "Credit limit must be an amount such as 25,000.00"),
        ("en_US", "$ 5 $", "Credit limit must be an amount such as 25,000.00"),
        ("en_US", "XYZ 5", "Credit limit must be an amount such as 25,000.00"),
        ("en_US", "-5", "Credit limit must not be negative"),
        ("en_US", "200,000,000,000", "Credit limit must be at most 100000000000"),
        ("pt_BR", "1,2,3", "Credit limit must be an amount such as 25.000,00"),
        ("pt_BR", "22.50.00", "Credit limit must be an amount such as 25.000,00"),
        ("pt_BR", "12,345", "Credit limit must have at most 2 decimal places"),
        ("pt_BR", "1.500,5,0", "Credit limit must be an amount such as 25.000,00"),
        ("pt_BR", "-R$ 5,00", "Credit limit must not be negative"),
    ],
)
def test_amounts_refused_in_the_labels_words(locale, text, message):
    with pytest.raises(NumberError) as raised:
        parse_amount(text, locale, label="Credit limit")
    assert str(raised.value) == message


def test_an_amount_may_be_negative_or_must_be_positive_when_asked():
    assert parse_amount("-1.234,50", "pt_BR", allow_negative=True) == Decimal("-1234.50")
    with pytest.raises(NumberError, match="^must be greater than 0$"):
        parse_amount("0,00", "pt_BR", allow_zero=False)


@pytest.mark.parametrize(
    ("locale", "text", "expected"),
    [
        ("en_US", "5%", "0.0500"),
        ("en_US", "5", "0.0500"),
        ("en_US", "5 %", "0.0500"),
        ("en_US", "0.5", "0.0050"),
        ("en_US", "2.5%", "0.0250"),
        ("en_US", "100%", "1.0000"),
        ("en_US", "0", "0.0000"),
        ("en_US", "12.34%", "0.1234"),
        ("pt_BR", "2,5%", "0.0250"),
        ("pt_BR", "5", "0.0500"),
        ("pt_BR", "0,5", "0.0050"),
        ("pt_BR", f"10{NBSP}%", "0.1000"),
        ("pt_BR", "0.5", "0.0050"),
    ],
)
def test_rates_are_percentages_returned_as_shares(locale, text, expected):
    value = parse_rate(text, locale)
    assert value == Decimal(expected) and value.as_tuple().exponent == -4


@pytest.mark.parametrize(
    ("locale", "text", "message"),
    [
        ("en_US", "150", "Tolerance must be between 0% and 100%"),
        ("en_US", "100.01%", "Tolerance must be between 0% and 100%"),
        ("en_US", "-1%", "Tolerance must not be negative"),
        ("en_US", "0.125", "Tolerance must have at most 2 decimal places"),
        ("en_US", "2,5%", "Tolerance must be a percentage such as 2.5%"),
        ("en_US", "%", "Tolerance must be a percentage such as 2.5%"),
        ("en_US", "5%%", "Tolerance must be a percentage such as 2.5%"),
        ("en_US", "five", "Tolerance must be a percentage such as 2.5%"),
        ("en_US", "", "Tolerance must be a percentage such as 2.5%"),
        ("pt_BR", "1,2,3%", "Tolerance must be a percentage such as 2,5%"),
        ("pt_BR", "$5", "Tolerance must be a percentage such as 2,5%"),
    ],
)
def test_rates_refused_in_the_labels_words(locale, text, message):
    with pytest.raises(NumberError) as raised:
        parse_rate(text, locale, label="Tolerance")
    assert str(raised.value) == message


def test_a_rate_without_a_maximum_and_plain_numbers():
    assert parse_rate("250%", "en_US", maximum=None) == Decimal("2.5000")
    assert parse_number("0,05", "pt_BR") == Decimal("0.05")
    assert parse_number("R$ 5", "pt_BR") is None


@pytest.mark.parametrize(
    ("locale", "currency", "limit", "tolerance", "shown_limit"),
    [
        ("en_US", "USD", "25,000.00", "5%", "$25,000.00"),
        ("pt_BR", "BRL", "22.600,00", "5%", "R$\u00a022.600,00"),
    ],
)
def test_account_forms_take_the_stores_notation(
    app, store, api, locale, currency, limit, tolerance, shown_limit
):
    account_id = open_account(api, credit_limit="100")["id"]
    console = signed_in(app, store)
    configure_presentation(console, locale=locale, currency=currency)
    base = f"/admin/accounts/{account_id}"

    assert console.post(f"{base}/limit", {"creditLimit": limit}).status_code == 303
    assert console.post(f"{base}/tolerance", {"tolerance": tolerance}).status_code == 303
    stored = account(api, account_id)
    assert dec(stored["creditLimit"]) == dec(limit.replace(",", "").replace(".", "")) / 100
    assert dec(stored["tolerance"]) == dec("0.05")
    page = console.get(base).text
    assert shown_limit in page
    assert ("New tolerance (%)" if locale == "en_US" else "Nova tolerância (%)") in page
    # The tolerance field is prefilled as a percentage, which posts back unchanged.
    assert 'value="5%"' in page
    assert console.post(f"{base}/tolerance", {"tolerance": "5%"}).status_code == 303
    assert dec(account(api, account_id)["tolerance"]) == dec("0.05")

    # The limit prefilled in plain notation posts back as it is, in either locale.
    assert console.post(f"{base}/limit", {"creditLimit": "22500.00"}).status_code == 303
    assert dec(account(api, account_id)["creditLimit"]) == dec("22500")

    bad = console.post(f"{base}/limit", {"creditLimit": "1,2,3"})
    assert bad.status_code == 400
    refusal = (
        "New credit limit: must be an amount such as 25,000.00"
        if locale == "en_US"
        else "Novo limite de crédito: deve ser um valor como 25.000,00"
    )
    assert refusal in bad.text
    assert 'value="1,2,3"' in bad.text  # what was typed stays in the field
    assert dec(account(api, account_id)["creditLimit"]) == dec("22500")


def test_a_new_account_in_a_pt_br_store(app, store, api):
    console = signed_in(app, store)
    configure_presentation(console, locale="pt_BR", currency="BRL")
    opened = console.post(
        "/admin/accounts/new",
        {
            "document": "12345678909",
            "documentType": "CPF",
            "email": "loja@example.com",
            "creditLimit": "R$ 1.500,50",
            "tolerance": "2,5%",
        },
    )
    assert opened.status_code == 303, opened.text
    created = account(api, opened.headers["location"].rsplit("/", 1)[1])
    assert dec(created["creditLimit"]) == dec("1500.50") and dec(created["tolerance"]) == dec("0.025")
    refused = console.post(
        "/admin/accounts/new",
        {"document": "98765432100", "documentType": "CPF", "email": "x@example.com", "tolerance": "2.5.0"},
    )
    assert refused.status_code == 400 and "Tolerância: deve ser uma porcentagem como 2,5%" in refused.text
    assert 'value="2.5.0"' in refused.text


def test_invoice_payment_and_value_filter_in_a_pt_br_store(app, store, api):
    account_id = open_account(api, credit_limit="5000")["id"]
    purchase(api, account_id, "1234.50")
    purchase(api, account_id, "20")
    big = next(
        row for row in api.get(f"/accounts/{account_id}/invoices").json()["data"] if dec(row["value"]) > 100
    )
    console = signed_in(app, store)
    configure_presentation(console, locale="pt_BR", currency="BRL")

    found = console.get("/admin/invoices", params={"value": "R$ 1.234,50"})
    assert found.status_code == 200 and big["friendlyId"] in found.text
    assert console.get("/admin/invoices", params={"value": "1.234,51"}).text.count(big["friendlyId"]) == 0
    bad = console.get("/admin/invoices", params={"value": "1,2,3"})
    assert "Valor deve ser um valor como 25.000,00" in bad.text

    paid = console.post(f"/admin/accounts/{account_id}/invoices/{big['id']}/pay", {"value": "1.000,25"})
    assert paid.status_code == 303, paid.text
    after = api.get(f"/accounts/{account_id}/invoices/{big['id']}").json()
    assert dec(after["creditValue"]) == dec("1000.25")


@pytest.mark.parametrize(
    ("locale", "interest", "default_credit", "shown_interest", "shown_credit"),
    [
        ("en_US", "0.1%", "25,000.00", "0.1%", "25,000.00"),
        ("pt_BR", "0,1%", "R$ 25.000,00", "0,1%", "25.000,00"),
    ],
)
def test_settings_take_percentages_and_amounts_in_the_stores_notation(
    app, store, api, locale, interest, default_credit, shown_interest, shown_credit
):
    console = signed_in(app, store)
    configure_presentation(console, locale=locale)
    configure_presentation(
        console,
        locale=locale,
        dailyInterestRate=interest,
        defaultCreditValue=default_credit,
        maxPreAuthorizationGrowthRate="10",
        taxRate="5%",
    )
    config = api.get("/storeconfig").json()
    assert dec(config["dailyInterestRate"]) == Decimal("0.001")
    assert dec(config["defaultCreditValue"]) == Decimal("25000.00")
    assert dec(config["maxPreAuthorizationGrowthRate"]) == Decimal("0.1")
    assert dec(config["taxRate"]) == Decimal("0.05")
    page = console.get("/admin/settings").text.replace(NBSP, " ")
    assert f'name="dailyInterestRate" type="text" value="{shown_interest}"' in page
    assert f'name="defaultCreditValue" type="text" value="{shown_credit}"' in page


def test_a_settings_number_refused_once_by_its_label(app, store, api):
    console = signed_in(app, store)
    configure_presentation(console, locale="pt_BR")
    before = api.get("/storeconfig").json()
    form = {
        "dailyInterestRate": "1,2,3",
        "invoicePostponementLimit": "0",
        "taxRate": "0",
        "maxPostponementDays": "0",
        "defaultCreditValue": "0",
        "maxPreAuthorizationGrowthRate": "0",
        "locale": "pt_BR",
        "currency": "USD",
        "timezone": "UTC",
    }
    refused = console.post("/admin/settings", form)
    assert refused.status_code == 400
    text = refused.text
    # Once, by the field, in the label's words and the store's language.
    assert text.count("deve ser uma porcentagem como 2,5%") == 1
    assert "Taxa diária de juros de mora: deve ser uma porcentagem como 2,5%" in text
    assert api.get("/storeconfig").json() == before
