"""The console speaks the store's language: a pt_BR store reads Brazilian Portuguese, an es
store Spanish, an en_US store English, plurals included. The sign-in page, where no store is
known yet, follows the browser's first language. SQLite and PostgreSQL, on a frozen clock."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.console.support import Console, signed_in
from tests.console.test_pages import configure_presentation, invoices_of, set_invoice
from tests.helpers import open_account, purchase
from tests.my_credits.test_my_credits import customer_client, enter, link_for

NOW = datetime(2026, 6, 15, 15, 0, tzinfo=UTC)

# locale, currency, words that must appear on the account, invoice and aging pages
LANGUAGES = {
    "pt_BR": (
        "BRL",
        ["Limite de crédito", "Transações", "Extratos"],
        ["Juros de mora", "Baixar PDF"],
        ["Todas as contas", "Baixar CSV", "1 conta deve algum valor."],
    ),
    "es_ES": (
        "EUR",
        ["Límite de crédito", "Transacciones", "Estados de cuenta"],
        ["Interés por mora", "Descargar PDF"],
        ["Todas las cuentas", "Descargar CSV", "1 cuenta debe algún importe."],
    ),
    "en_US": (
        "USD",
        ["Credit limit", "Transactions", "Statements"],
        ["Late interest", "Download PDF"],
        ["All accounts", "Download CSV", "1 account owes anything."],
    ),
}
ENGLISH_ONLY = {
    "account": ["Credit limit", "Available credit", "Statements"],
    "invoice": ["Late interest", "Download PDF", "Not added to the value"],
    "aging": ["All accounts", "Download CSV", "Store-wide aging"],
    "settings": ["Save settings", "Default credit limit", "Postponements allowed"],
}
SAVE_SETTINGS = {"pt_BR": "Salvar configurações", "es_ES": "Guardar configuración", "en_US": "Save settings"}
# "Postponed" on the invoice page, once and twice
POSTPONED = {
    "pt_BR": ("Prorrogada", "1 vez", "2 vezes"),
    "es_ES": ("Prorrogada", "1 vez", "2 veces"),
    "en_US": ("Postponed", "1 time", "2 times"),
}


def _store_in(app, store, api, database, frozen_clock, locale: str):
    frozen_clock.set(NOW)
    account_id = open_account(api, credit_limit="500")["id"]
    purchase(api, account_id, "60")
    invoice = invoices_of(api, account_id)[0]
    set_invoice(database, store, invoice["id"], due_at=NOW - timedelta(days=10))
    console = signed_in(app, store)
    configure_presentation(console, locale=locale, currency=LANGUAGES[locale][0])
    return console, account_id, invoice["id"]


@pytest.mark.parametrize("locale", ["pt_BR", "es_ES", "en_US"])
def test_account_invoice_and_aging_pages_speak_the_store_language(
    app, store, api, database, frozen_clock, locale
):
    console, account_id, invoice_id = _store_in(app, store, api, database, frozen_clock, locale)
    _, account_words, invoice_words, aging_words = LANGUAGES[locale]
    pages = {
        "account": console.get(f"/admin/accounts/{account_id}"),
        "invoice": console.get(f"/admin/accounts/{account_id}/invoices/{invoice_id}"),
        "aging": console.get("/admin/aging"),
        "settings": console.get("/admin/settings"),
    }
    for response in pages.values():
        assert response.status_code == 200, response.text
    settings_words = [SAVE_SETTINGS[locale]]
    checked = (
        ("account", account_words),
        ("invoice", invoice_words),
        ("aging", aging_words),
        ("settings", settings_words),
    )
    for name, words in checked:
        for word in words:
            assert word in pages[name].text, (name, word)
        for english in ENGLISH_ONLY[name]:
            assert (english in pages[name].text) == (locale == "en_US"), (name, english)


@pytest.mark.parametrize("locale", ["pt_BR", "es_ES", "en_US"])
def test_postponed_times_is_a_real_plural(app, store, api, database, frozen_clock, locale):
    console, account_id, invoice_id = _store_in(app, store, api, database, frozen_clock, locale)
    label, once, twice = POSTPONED[locale]
    url = f"/admin/accounts/{account_id}/invoices/{invoice_id}"
    shown = {}
    for count in (1, 2):
        set_invoice(database, store, invoice_id, postponement_count=count)
        found = re.search(rf"<dt>{label}</dt><dd>([^<]*)</dd>", console.get(url).text)
        assert found, label
        shown[count] = found.group(1)
    assert shown == {1: once, 2: twice}


@pytest.mark.parametrize(
    ("accept", "words", "absent"),
    [
        ("pt-BR,pt;q=0.9,en;q=0.5", ["Entrar", "Senha", "Entre com sua conta de operador."], "Password"),
        ("es-MX,es;q=0.9", ["Iniciar sesión", "Contraseña"], "Password"),
        (None, ["Sign in", "Password"], "Senha"),
    ],
)
def test_sign_in_page_follows_the_browser_language(app, frozen_clock, accept, words, absent):
    frozen_clock.set(NOW)
    headers = {"Accept-Language": accept} if accept else {}
    page = Console(app).get("/admin/sign-in", headers=headers)
    assert page.status_code == 200, page.text
    for word in words:
        assert word in page.text, word
    assert absent not in page.text


@pytest.mark.parametrize(
    ("locale", "words", "english"),
    [
        (
            "pt_BR",
            ["Meus Créditos", "Limite de crédito", "Baixar extrato (PDF)", "1 dia de atraso"],
            "Credit limit",
        ),
        (
            "es_ES",
            ["Mis Créditos", "Límite de crédito", "Descargar estado de cuenta (PDF)", "1 día de atraso"],
            "Credit limit",
        ),
        ("en_US", ["My Credits", "Credit limit", "Download statement (PDF)", "1 day overdue"], "Límite"),
    ],
)
def test_my_credits_speaks_the_store_language(
    app, store, api, database, frozen_clock, locale, words, english
):
    frozen_clock.set(NOW)
    account_id = open_account(api, email="ana@example.com", credit_limit="300")["id"]
    purchase(api, account_id, "100")
    invoice = invoices_of(api, account_id)[0]
    set_invoice(database, store, invoice["id"], due_at=NOW - timedelta(days=1))
    configure_presentation(
        signed_in(app, store), locale=locale, currency=LANGUAGES[locale][0], myCreditsEnabled="on"
    )
    client = customer_client(app)
    assert enter(client, link_for(store, account_id, "ana@example.com", now=NOW)).status_code == 303
    page = client.get("/my-credits")
    assert page.status_code == 200, page.text
    for word in words:
        assert word in page.text, word
    assert english not in page.text


# The accounts and invoices tables: headings, counts with their plural, state badges.
TABLE_WORDS = {
    "pt_BR": (
        ["Contas", "1 conta<", "Crédito disponível", "Confiança"],
        ["Faturas", "Total em aberto", ">Vencida<"],
    ),
    "es_ES": (["Cuentas", "1 cuenta<", "Confianza"], ["Facturas", "Total abierto", ">Vencida<"]),
    "en_US": (
        ["Accounts", "1 account<", "Available credit", "Trust"],
        ["Invoices", "Open total", ">Expired<"],
    ),
}
ENGLISH_TABLE_WORDS = (
    ["Available credit", "No account matches."],
    ["Open total", "Days overdue", ">Expired<"],
)


@pytest.mark.parametrize("locale", ["pt_BR", "es_ES", "en_US"])
def test_the_accounts_and_invoices_tables_speak_the_store_language(
    app, store, api, database, frozen_clock, locale
):
    console, _account_id, _invoice_id = _store_in(app, store, api, database, frozen_clock, locale)
    accounts = console.get("/admin/accounts").text
    invoices = console.get("/admin/invoices").text
    for page, words, english in zip(
        (accounts, invoices), TABLE_WORDS[locale], ENGLISH_TABLE_WORDS, strict=True
    ):
        for word in words:
            assert word in page, word
        if locale != "en_US":
            for word in english:
                assert word not in page, word
