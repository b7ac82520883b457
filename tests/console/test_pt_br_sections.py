"""The console sections that grew after the first translation speak the store's language too:
the account page's trust level and overdue policy sections, the settings page's overdue policy,
dunning levels, documents and checkout sections, the 404 and 405 pages and My Credits' problem
pages. A pt_BR store reads Brazilian Portuguese, an es store Spanish, an en_US store English
(plurals included). SQLite and PostgreSQL, on a frozen clock."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from customer_credit.console.formatting import Presentation
from tests.console.support import signed_in
from tests.console.test_pages import configure_presentation, invoices_of, set_invoice
from tests.helpers import open_account, purchase
from tests.my_credits.test_my_credits import customer_client, enter, link_for

NOW = datetime(2026, 6, 15, 15, 0, tzinfo=UTC)


def _between(html: str, start: str, end: str) -> str:
    return html.split(start, 1)[1].split(end, 1)[0]


def trust_section(html: str) -> str:
    return _between(html, 'aria-labelledby="trust-title"', "</section>")


def overdue_section(html: str) -> str:
    return _between(html, 'aria-labelledby="overdue-title"', "</section>")


def _overdue_account(app, store, api, database, frozen_clock, *, locale, currency, late_days, policy_days):
    """An account whose only invoice is `late_days` overdue, in a store whose policy blocks
    beyond `policy_days`; the console signed in as an admin."""
    frozen_clock.set(NOW)
    account_id = open_account(api, credit_limit="500")["id"]
    purchase(api, account_id, "60")
    invoice = invoices_of(api, account_id)[0]
    set_invoice(database, store, invoice["id"], due_at=NOW - timedelta(days=late_days))
    console = signed_in(app, store)
    configure_presentation(console, locale=locale, currency=currency)
    saved = console.post(
        "/admin/settings/overdue-policy",
        {"overduePolicyMode": "block", "overduePolicyDays": str(policy_days)},
    )
    assert saved.status_code == 303, saved.text
    return console, account_id


def test_the_account_page_trust_and_overdue_sections_in_portuguese(app, store, api, database, frozen_clock):
    console, account_id = _overdue_account(
        app, store, api, database, frozen_clock, locale="pt_BR", currency="BRL", late_days=11, policy_days=10
    )
    page = f"/admin/accounts/{account_id}"
    made = console.post(f"{page}/overdue-override", {"until": "2026-06-20T12:00", "reason": "paga sexta"})
    assert made.status_code == 303, made.text

    html = console.get(page).text
    trust = trust_section(html)
    for words in (
        "Nível de confiança",
        "O nível com que toda conta começa.",
        "Nunca alterado.",
        "Alterar o nível de confiança",
        '<option value="watch">em observação</option>',
        "Salvar nível de confiança",
    ):
        assert words in trust, words
    assert "Trust level" not in trust and "Save trust level" not in trust

    overdue = overdue_section(html)
    for words in (
        "Política de atraso",
        "A política da loja bloqueia novas compras em contas com uma fatura vencida há mais de 10 dias.",
        "11 dias</strong> de atraso",
        "Exceção",
        "Definida por",
        "Substituir a exceção",
        "Revogar exceção",
        '<th scope="col">Até</th>',
        ">ativa<",
    ):
        assert words in overdue, words
    for english in ("Overdue policy", "No active override", "Revoke override", "Until", "oldest overdue"):
        assert english not in overdue, english

    revoked = console.post(f"{page}/overdue-override/revoke", {})
    assert revoked.status_code == 303, revoked.text
    after = overdue_section(console.get(page).text)
    assert "Nenhuma exceção ativa." in after and ">revogada <" in after


@pytest.mark.parametrize(
    ("locale", "currency", "one", "two"),
    [
        (
            "pt_BR",
            "BRL",
            ("vencida há mais de 1 dia.", "1 dia</strong> de atraso"),
            ("vencida há mais de 2 dias.", "2 dias</strong> de atraso"),
        ),
        (
            "en_US",
            "USD",
            ("overdue by more than 1 day.", "1 day</strong> overdue"),
            ("overdue by more than 2 days.", "2 days</strong> overdue"),
        ),
    ],
)
def test_days_in_the_overdue_section_are_real_plurals(
    app, store, api, database, frozen_clock, locale, currency, one, two
):
    for days, expected in ((1, one), (2, two)):
        console, account_id = _overdue_account(
            app,
            store,
            api,
            database,
            frozen_clock,
            locale=locale,
            currency=currency,
            late_days=days,
            policy_days=days,
        )
        shown = overdue_section(console.get(f"/admin/accounts/{account_id}").text)
        for words in expected:
            assert words in shown, (days, words)
        assert "1 dias" not in shown and "1 days" not in shown


def _settings_with_a_dunning_level(app, store, frozen_clock, *, locale, currency):
    frozen_clock.set(NOW)
    console = signed_in(app, store)
    configure_presentation(console, locale=locale, currency=currency)
    saved = console.post(
        "/admin/settings/dunning",
        {"level-0-days": "10", "level-0-name": "Firme", "level-0-fixed": "5", "level-0-rate": "0.02"},
    )
    assert saved.status_code == 303, saved.text
    page = console.get("/admin/settings")
    assert page.status_code == 200, page.text
    return page.text


def test_the_settings_page_sections_in_portuguese(app, store, frozen_clock):
    html = _settings_with_a_dunning_level(app, store, frozen_clock, locale="pt_BR", currency="BRL")
    fee = Presentation(locale="pt_BR", currency="BRL").money(Decimal("5"))
    for words in (
        # the overdue policy
        "Política de atraso",
        "Novas compras em contas com faturas vencidas",
        "Desativada: faturas vencidas não afetam novas compras",
        "Bloquear: novas compras são recusadas",
        "Dias de atraso permitidos",
        "Salvar política de atraso",
        # dunning levels, and the stored level's summary with the store's money
        "Níveis de cobrança",
        "Etapas após o vencimento",
        "Nível 1",
        "Dias após o vencimento",
        "Multa por atraso, valor fixo",
        f"multa por atraso de {fee} + 2% do valor devido, com vencimento 10 dias depois",
        "+10 dias às 09:00: Firme; o e-mail de atraso da loja; multa",
        "o e-mail de atraso da loja",
        "Salvar níveis de cobrança",
        # documents
        "Documentos",
        "Nome nos documentos",
        "Anexar o PDF da fatura aos e-mails de lembrete",
        "Salvar documentos",
        # checkout
        "Revisão manual",
        "Reserva de uma compra aprovada",
        "Prazo de revisão",
        ">minutos</option>",
        "Nenhum token definido.",
        "Salvar configurações do checkout",
    ):
        assert words in html, words
    for english in (
        "Dunning levels",
        "Save overdue policy",
        "Name on documents",
        "Hold of an approved purchase",
        ">minutes</option>",
        "no late fee",
        "days at",
    ):
        assert english not in html, english


def test_the_settings_page_sections_in_spanish(app, store, frozen_clock):
    html = _settings_with_a_dunning_level(app, store, frozen_clock, locale="es_ES", currency="EUR")
    for words in (
        "Política de mora",
        "Niveles de cobranza",
        "Recargo por mora, importe fijo",
        "+10 días a las 09:00: Firme",
        "Nombre en los documentos",
        "Revisión manual",
        "Guardar configuración del checkout",
    ):
        assert words in html, words
    assert "Dunning levels" not in html and "Save documents" not in html


def test_the_settings_page_sections_stay_english_in_an_english_store(app, store, frozen_clock):
    html = _settings_with_a_dunning_level(app, store, frozen_clock, locale="en_US", currency="USD")
    for words in (
        "Overdue policy",
        "Dunning levels",
        "Level 1",
        "+10 days at 09:00: Firme; the store's overdue e-mail; late fee $5.00 + 2% of what is owed, due 10",
        "Save documents",
        "Hold of an approved purchase",
    ):
        assert words in html, words
    assert "Níveis" not in html


@pytest.mark.parametrize(
    ("locale", "currency", "title", "message", "not_allowed"),
    [
        ("pt_BR", "BRL", "Não encontrado", "Esta página não existe.", "DELETE não é permitido nesta página."),
        (
            "es_ES",
            "EUR",
            "No encontrado",
            "Esta página no existe.",
            "DELETE no está permitido en esta página.",
        ),
    ],
)
def test_the_404_and_405_pages_in_the_store_language(
    app, store, frozen_clock, locale, currency, title, message, not_allowed
):
    frozen_clock.set(NOW)
    console = signed_in(app, store)
    configure_presentation(console, locale=locale, currency=currency)

    missing = console.get("/admin/no-such-page")
    assert missing.status_code == 404
    assert f"<h1>{title}</h1>" in missing.text and message in missing.text
    assert "There is no such page." not in missing.text

    wrong = console.client.request("DELETE", "/admin/accounts")
    assert wrong.status_code == 405
    assert not_allowed in wrong.text and "is not allowed on this page" not in wrong.text


def test_my_credits_problem_pages_in_portuguese(app, store, api, frozen_clock):
    frozen_clock.set(NOW)
    account_id = open_account(api, email="ana@example.com", credit_limit="300")["id"]
    console = signed_in(app, store)
    configure_presentation(console, locale="pt_BR", currency="BRL", myCreditsEnabled="on")
    client = customer_client(app)
    assert enter(client, link_for(store, account_id, "ana@example.com", now=NOW)).status_code == 303

    other = client.get("/my-credits/accounts/NOT-YOURS/statement.pdf")
    assert other.status_code == 404
    assert "Essa conta não está entre as suas." in other.text and "<h1>Não encontrado</h1>" in other.text
    assert 'lang="pt-BR"' in other.text

    page = client.get("/my-credits").text
    sign_out_token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    left = client.post("/my-credits/sign-out", data={"token": sign_out_token})
    assert left.status_code == 200
    assert "<h1>Sessão encerrada</h1>" in left.text and "Você saiu de Meus Créditos." in left.text

    assert enter(client, link_for(store, account_id, "ana@example.com", now=NOW)).status_code == 303
    configure_presentation(console, locale="pt_BR", currency="BRL")  # My Credits turned off
    off = client.get("/my-credits")
    assert off.status_code == 403
    assert "<h1>Meus Créditos</h1>" in off.text
    assert "Meus Créditos não está disponível nesta loja." in off.text
    assert "not available" not in off.text
