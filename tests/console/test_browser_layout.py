"""Layout and forms in a real browser (Debian's Chromium, Playwright): the console's navigation
stays on one line at common desktop widths in every language it speaks; tables keep one line per
row at 1366 and 1920 px, with a long observation clipped and whole in its tooltip; a refused form
says so once, in the label's words, and going back to its address shows the console's page, not
JSON; the keyboard alone signs in; My Credits' statement form keeps each date under its label
on a phone. Its own server and
store (the fixtures of test_browser)."""

from datetime import timedelta

import pytest

from customer_credit.stores import service as stores
from tests.console.test_browser import (  # noqa: F401 - fixtures
    ADMIN,
    ANA,
    BRUNO,
    PASSWORD,
    browser,
    page,
    shop,
    sign_in,
)
from tests.console.test_browser_locale import wait_for_language

# Beside the fast tests on both cores (nothing here is timed), all on one worker: one server and one browser.
pytestmark = [pytest.mark.slow, pytest.mark.shares_cores, pytest.mark.xdist_group("browser")]

# The longest labels are Portuguese and Spanish ("Registro de recordatorios", "Pendiente de aprobación").
LOCALES = (("en_US", "USD", "en-US"), ("pt_BR", "BRL", "pt-BR"), ("es_ES", "EUR", "es-ES"))
DESKTOP_WIDTHS = (1280, 1366, 1920)


def navigation_rows(page) -> int:  # noqa: F811 - the fixture
    return page.evaluate(
        "new Set([...document.querySelectorAll('header nav li')]"
        ".map(item => Math.round(item.getBoundingClientRect().top))).size"
    )


def test_the_navigation_stays_on_one_line_in_every_language(page, shop):  # noqa: F811 - the fixtures
    sign_in(page, shop, ADMIN)
    try:
        for locale, currency, lang in LOCALES:
            with shop.database.write() as session:
                stores.save_config(session, shop.store_id, {"locale": locale, "currency": currency})
            wait_for_language(page, shop.base + "/admin", lang)
            for width in DESKTOP_WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(shop.base + "/admin")
                assert navigation_rows(page) == 1, (locale, width)
                items = page.locator("header nav li")
                assert items.count() == 10
                # Each label on one line, and nothing pushed past the edge of the window.
                heights = {
                    round(box["height"]) for box in (item.bounding_box() for item in items.all()) if box
                }
                assert len(heights) == 1, (locale, width, heights)
                assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        with shop.database.write() as session:
            stores.save_config(session, shop.store_id, {"locale": "en_US", "currency": "USD"})
        # The server keeps a store's configuration for 2 s: the next test must find English.
        wait_for_language(page, shop.base + "/admin", "en-US")


def test_the_statement_form_keeps_each_date_under_its_label_on_a_phone(browser, shop):  # noqa: F811
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    customer = phone.new_page()
    try:
        customer.goto(shop.link(ANA, "ana@example.com", timedelta(hours=1)))
        form = customer.locator("form.statement").first
        form_box = form.bounding_box()
        assert form_box is not None
        inputs = []
        for name in ("from", "to"):
            field = form.locator(f'input[name="{name}"]')
            label = form.locator(f'label[for="{field.get_attribute("id")}"]')
            label_box, field_box = label.bounding_box(), field.bounding_box()
            assert label_box is not None and field_box is not None
            assert label_box["y"] + label_box["height"] <= field_box["y"] + 1  # the label above its date
            assert abs(label_box["x"] - field_box["x"]) <= 2  # in the same column
            assert field_box["x"] + field_box["width"] <= form_box["x"] + form_box["width"] + 1
            inputs.append(field_box)
        assert abs(inputs[0]["y"] - inputs[1]["y"]) <= 1  # the two dates share a row
        button = form.get_by_role("button").bounding_box()
        assert button is not None
        assert button["y"] >= inputs[0]["y"] + inputs[0]["height"]  # the button on the next row
        assert button["width"] >= 0.9 * form_box["width"]  # a wide target for a thumb
        assert customer.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        phone.close()


def row_heights(page, table: str) -> set[int]:  # noqa: F811 - the fixture
    return set(
        page.evaluate(
            f"[...document.querySelectorAll('{table} tbody tr')]"
            ".map(row => Math.round(row.getBoundingClientRect().height))"
        )
    )


def test_tables_keep_one_line_per_row_with_the_long_observation_in_a_tooltip(page, shop):  # noqa: F811
    invoice = shop.invoices(ANA)[0]
    long_note = "Call the buyer's finance desk before the 10th; " * 8
    changed = shop.api.put(
        f"/accounts/{ANA}/invoices/{invoice['id']}", json={"status": "Opened", "observation": long_note}
    )
    assert changed.status_code == 200, changed.text
    sign_in(page, shop, ADMIN)
    for width in (1366, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        for url, table in (("/admin/invoices", "#invoice-table"), ("/admin/accounts", "main table")):
            page.goto(shop.base + url)
            heights = row_heights(page, table)
            # One line each, the long observation too (a second line would add some 20 px).
            assert max(heights) - min(heights) <= 2, (url, width, heights)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (url, width)
        page.goto(shop.base + "/admin/invoices")
        main = page.locator("main").bounding_box()
        assert main is not None
        # The wider container on a wide screen; the whole window below that.
        assert round(main["width"]) == (1600 if width >= 1600 else width)
        note = page.locator("#invoice-table td.clip", has_text="Call the buyer").first
        assert note.get_attribute("title") == long_note
        assert note.evaluate("cell => cell.scrollWidth > cell.clientWidth")  # clipped on the page


def test_a_refused_form_says_so_once_and_its_address_leads_back_to_the_page(page, shop):  # noqa: F811
    before = shop.account(BRUNO)["creditLimit"]
    sign_in(page, shop, ADMIN)
    page.goto(f"{shop.base}/admin/accounts/{BRUNO}")
    field = page.locator('form[action$="/limit"] input[name="creditLimit"]')
    label = page.locator(f'label[for="{field.get_attribute("id")}"]').inner_text().strip()
    field.fill("lots")
    page.locator('form[action$="/limit"] button[type="submit"]').click()
    page.wait_for_load_state()
    errors = page.locator("main").get_by_text("must be an amount such as")
    assert errors.count() == 1  # once, inline
    assert errors.first.inner_text().startswith(label + ":")  # in the label's words
    assert "creditLimit" not in page.locator("main").inner_text()  # never the API's field name
    assert shop.account(BRUNO)["creditLimit"] == before

    # Entering the form's address again (a reload on many browsers) is a GET of a POST-only URL.
    landed = page.goto(page.url)
    assert landed is not None and landed.ok
    assert page.url == f"{shop.base}/admin/accounts/{BRUNO}"
    assert page.locator("header nav").count() == 1 and page.locator("pre").count() == 0

    missing = page.goto(shop.base + "/admin/no-such-page")
    assert missing is not None and missing.status == 404
    assert "text/html" in missing.headers["content-type"]
    assert page.locator("header nav").count() == 1  # the console's own page, signed in


def test_the_keyboard_alone_signs_in(page, shop):  # noqa: F811 - the fixtures
    """The sign-in page puts the cursor in the e-mail field; typing, Tab and Enter sign in, with
    no pointer at all."""
    page.goto(shop.base + "/admin")
    assert page.evaluate("document.activeElement.id") == "email"
    page.keyboard.type(ADMIN)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(shop.base + "/admin")
    assert page.locator("header .who").inner_text().startswith(ADMIN)
