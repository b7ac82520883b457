"""Numbers typed as the page shows them, in a real browser (Debian's Chromium, Playwright):
an en_US store takes `25,000.00`, a pt_BR store `22.600,00` and `5%`, and speaks Portuguese;
the dashboard draws its charts; a Brazilian Excel CSV imports in a pt_BR store. Its own server
and store (the fixtures of test_browser)."""

import time

import pytest

from customer_credit.stores import service as stores
from tests.console.live import screenshot
from tests.console.test_browser import ADMIN, BRUNO, browser, page, shop, sign_in  # noqa: F401 - fixtures

# Beside the fast tests on both cores (nothing here is timed), all on one worker: one server and one browser.
pytestmark = [pytest.mark.slow, pytest.mark.shares_cores, pytest.mark.xdist_group("browser")]


def change_limit(page, shop, typed: str) -> str:  # noqa: F811 - the fixtures
    page.goto(f"{shop.base}/admin/accounts/{BRUNO}")
    page.locator('input[name="creditLimit"]').fill(typed)
    page.locator('form[action$="/limit"] button[type="submit"]').click()
    page.wait_for_load_state()
    return page.locator('[data-figure="limit"]').inner_text().replace("\xa0", " ")


def wait_for_language(page, url: str, lang: str) -> None:  # noqa: F811 - the fixture
    """The server caches a store's configuration for two seconds: reload until it speaks `lang`."""
    deadline = time.monotonic() + 10
    while True:
        page.goto(url)
        if page.locator("html").get_attribute("lang") == lang or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert page.locator("html").get_attribute("lang") == lang


def test_amounts_and_rates_typed_in_each_locale(page, shop):  # noqa: F811 - fixtures
    sign_in(page, shop, ADMIN)
    assert page.locator('[data-chart="aging"] tr[data-bucket]').count() == 5
    assert page.locator('[data-chart="months"] tr[data-month]').count() == 12
    screenshot(page, "dashboard-charts")

    assert change_limit(page, shop, "25,000.00") == "$25,000.00"
    assert shop.account(BRUNO)["creditLimit"] in (25000, "25000.00", 25000.0)

    with shop.database.write() as session:
        stores.save_config(session, shop.store_id, {"locale": "pt_BR", "currency": "BRL"})
    wait_for_language(page, f"{shop.base}/admin/accounts/{BRUNO}", "pt-BR")
    assert change_limit(page, shop, "22.600,00") == "R$ 22.600,00"
    assert float(shop.account(BRUNO)["creditLimit"]) == 22600
    page.locator('input[name="tolerance"]').fill("5%")
    page.locator('form[action$="/tolerance"] button[type="submit"]').click()
    page.wait_for_load_state()
    assert float(shop.account(BRUNO)["tolerance"]) == 0.05
    page.locator('input[name="creditLimit"]').fill("22,600.00")  # en_US grouping in a pt_BR store
    page.locator('form[action$="/limit"] button[type="submit"]').click()
    page.wait_for_load_state()
    assert page.locator(".msg-error, .field-error, [role=alert]").count() >= 1
    assert float(shop.account(BRUNO)["creditLimit"]) == 22600
    screenshot(page, "account-pt-br")
    page.goto(shop.base + "/admin")
    assert page.get_by_role("heading", name="Painel").count() == 1

    with shop.database.write() as session:
        stores.save_config(session, shop.store_id, {"locale": "en_US", "currency": "USD"})


def test_a_brazilian_excel_file_imports_in_a_pt_br_store(page, shop, tmp_path):  # noqa: F811 - fixtures
    """`;` separators, Windows-1252 bytes and `1.500,00`, as Excel saves a CSV in Brazil; the
    import page and its outcome in Portuguese; a file of the wrong kind named for what it is."""
    excel = tmp_path / "contas.csv"
    excel.write_bytes(
        (
            "id;document;documentType;email;creditLimit;tolerance;description\r\n"
            ";55566677788;CPF;joana@example.com;1.500,00;0,05;Padaria São João\r\n"
        ).encode("cp1252")
    )
    sign_in(page, shop, ADMIN)
    try:
        with shop.database.write() as session:
            stores.save_config(session, shop.store_id, {"locale": "pt_BR", "currency": "BRL"})
        wait_for_language(page, shop.base + "/admin/import", "pt-BR")
        assert page.get_by_role("heading", name="Importar e exportar").count() == 1
        page.get_by_label("Pagamentos de faturas: marcar faturas como pagas").check()
        page.get_by_label("Arquivo CSV").set_input_files(str(excel))
        page.get_by_role("button", name="Pré-visualizar").click()
        page.wait_for_load_state()
        assert "Contas" in page.locator("#kind-note").inner_text()  # an accounts file, it says
        assert shop.api.get("/accounts/55566677788_CPF").status_code == 404

        page.get_by_label("Reconhecer").check()
        page.get_by_label("Arquivo CSV").set_input_files(str(excel))
        page.get_by_role("button", name="Pré-visualizar").click()
        page.wait_for_url("**/admin/import/*")
        assert "Prévia: 1 alteração" in page.locator("#import-outcome").inner_text()
        page.get_by_role("button", name="Aplicar 1 alteração").click()
        page.wait_for_load_state()
        assert "Aplicada: 1 alteração" in page.locator("#import-outcome").inner_text()
        opened = shop.api.get("/accounts/55566677788_CPF").json()
        assert float(opened["creditLimit"]) == 1500 and float(opened["tolerance"]) == 0.05
        assert opened["description"] == "Padaria São João"
    finally:
        with shop.database.write() as session:
            stores.save_config(session, shop.store_id, {"locale": "en_US", "currency": "USD"})
        # The server keeps a store's configuration for 2 s: the next test must find English.
        wait_for_language(page, shop.base + "/admin", "en-US")
