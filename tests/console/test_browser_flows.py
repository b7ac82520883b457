"""The console's newer flows in a real browser (Debian's Chromium, Playwright): a payment with
the day it was received and a reference lands on the invoice's timeline; a webhook endpoint's
signing secret and an API key's token are shown once and never again; a revoked key is listed
as revoked; the pages a developer and a team lead use are reachable from the navigation. Its own
server and store (the fixtures of test_browser)."""

import re
from decimal import Decimal

import pytest

from tests.console.live import screenshot
from tests.console.test_browser import (  # noqa: F401 - fixtures
    ADMIN,
    BRUNO,
    browser,
    message,
    page,
    shop,
    sign_in,
)

# Beside the fast tests on both cores (nothing here is timed), all on one worker: one server and one browser.
pytestmark = [pytest.mark.slow, pytest.mark.shares_cores, pytest.mark.xdist_group("browser")]


def test_a_payment_with_its_day_and_reference_is_on_the_timeline(page, shop):  # noqa: F811 - the fixtures
    shop.purchase(BRUNO, "120")
    invoice = next(row for row in shop.invoices(BRUNO) if row["status"] == "Opened")
    sign_in(page, shop, ADMIN)
    page.goto(f"{shop.base}/admin/accounts/{BRUNO}/invoices/{invoice['id']}")
    today = page.get_by_label("Payment date").input_value()
    page.get_by_label("Amount received").fill("20")
    page.get_by_label("Reference", exact=True).fill("TRF-991")
    page.get_by_role("button", name="Record payment").click()
    assert message(page) == "Payment recorded."
    timeline = page.locator("#payments-title").locator("xpath=..").inner_text()
    assert "TRF-991" in timeline and "$20.00" in timeline and ADMIN in timeline
    assert Decimal(str(shop.invoice(BRUNO, invoice["id"])["creditValue"])) == Decimal("20")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", today)  # the field starts at the store's today
    screenshot(page, "invoice-timeline")


def test_a_webhook_secret_and_an_api_token_are_shown_once(page, shop):  # noqa: F811 - the fixtures
    sign_in(page, shop, ADMIN)
    page.get_by_role("link", name="Developers").click()
    page.get_by_label("URL").fill("ftp://hooks.example/customer-credit")
    page.get_by_role("button", name="Add endpoint").click()
    assert page.locator(".field-error").all_inner_texts() == ["URL: must be an absolute http or https URL"]
    page.get_by_label("URL").fill("http://localhost:9/customer-credit")
    page.get_by_role("button", name="Add endpoint").click()
    secret = page.get_by_role("textbox", name="Signing secret").input_value()
    assert len(secret) >= 16
    assert page.url == f"{shop.base}/admin/webhooks"  # post/redirect/get
    page.reload()  # a reload reads the page again; it does not post the form a second time
    assert "localhost:9/customer-credit" in page.content() and secret not in page.content()
    assert page.locator("tr", has_text="localhost:9/customer-credit").count() == 1
    screenshot(page, "webhooks")

    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Label").fill("ERP sync")
    page.locator('input[name="resources"]').first.check()
    page.get_by_role("button", name="Create key").click()
    token = page.get_by_role("textbox", name="X-VTEX-API-AppToken").input_value()
    assert len(token) >= 16
    page.reload()
    assert "ERP sync" in page.content() and token not in page.content()
    assert page.locator("tr", has_text="ERP sync").count() == 1
    row = page.locator("tr", has_text="ERP sync")
    row.get_by_role("button", name="Revoke").click()
    assert "revoked" in page.locator("tr", has_text="ERP sync").inner_text().lower()


def test_the_team_and_the_reminder_log_are_in_the_navigation(page, shop):  # noqa: F811 - the fixtures
    sign_in(page, shop, ADMIN)
    page.get_by_role("link", name="Team").click()
    assert ADMIN in page.locator("main").inner_text()
    page.get_by_role("link", name="Reminder log").click()
    assert page.locator("h1").inner_text()
    assert page.url.endswith("/admin/reminders")
