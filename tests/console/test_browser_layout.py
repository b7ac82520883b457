"""Layout in a real browser (Debian's Chromium, Playwright): the console's navigation stays on one
line at common desktop widths in every language it speaks, and My Credits' statement form keeps
each date under its label on a phone. Its own server and store (the fixtures of test_browser)."""

from datetime import timedelta

import pytest

from customer_credit.stores import service as stores
from tests.console.test_browser import ADMIN, ANA, browser, page, shop, sign_in  # noqa: F401 - fixtures
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
