"""Console and My Credits flows in a real browser (Debian's Chromium, Playwright) that no other
browser test covers: a refund typed on an account's transaction row and one refused, an API key
revoked from its list (and refused by the API at once), a viewer on the developers', team and
reminder log pages (and their forged posts), the store's name and logo on the console's header
and on My Credits, the top of My Credits on a phone, and the dashboard cards leading to lists
that agree with them. Its own server and store (the fixtures of test_browser)."""

import hashlib
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import BytesIO

import httpx
import pytest
from babel.dates import format_date
from babel.numbers import format_currency
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import update

from customer_credit.auth.service import list_keys
from customer_credit.dates import store_zone
from customer_credit.events import webhooks
from customer_credit.invoices.models import Invoice
from customer_credit.stores import service as stores
from customer_credit.stores.models import Store
from customer_credit.users import service as users
from tests.console.test_browser import (  # noqa: F401 - fixtures
    ADMIN,
    ANA,
    BRUNO,
    PASSWORD,
    VIEWER,
    browser,
    message,
    page,
    shop,
    sign_in,
)

# Beside the fast tests on both cores (nothing here is timed), all on one worker: one server and one browser.
pytestmark = [pytest.mark.slow, pytest.mark.shares_cores, pytest.mark.xdist_group("browser")]


def says(tab, text: str) -> None:
    """The page's first message is `text` (waiting for the page the click leads to)."""
    expect(tab.locator(".msg").first).to_have_text(text)


def money(text: str) -> Decimal:
    return Decimal(text.strip().replace("$", "").replace(",", ""))


def amount(value) -> Decimal:
    return Decimal(str(value))


def new_invoices(live, account_id: str, value: str, installments: int = 1) -> list[dict]:
    """Buys for `account_id` and answers the purchase's invoices (from the API), in installment order."""
    before = {invoice["id"] for invoice in live.invoices(account_id)}
    live.purchase(account_id, value, installments=installments)
    found = [invoice for invoice in live.invoices(account_id) if invoice["id"] not in before]
    assert len(found) == installments
    return sorted(found, key=lambda invoice: invoice["installment"])


def test_a_refund_from_the_transaction_row_lowers_the_invoice_and_one_too_big_is_refused(page, shop):  # noqa: F811
    (invoice,) = new_invoices(shop, BRUNO, "60")
    transaction_id = invoice["transactionId"]
    assert amount(invoice["value"]) == Decimal("60")
    sign_in(page, shop, ADMIN)
    page.goto(f"{shop.base}/admin/accounts/{BRUNO}")
    row = page.locator("tr", has=page.get_by_text(transaction_id, exact=True))
    row.get_by_label("Amount to refund").fill("10.00")
    row.get_by_role("button", name="Refund", exact=True).click()
    says(page, "Refund recorded.")
    row = page.locator("tr", has=page.get_by_text(transaction_id, exact=True))
    assert money(row.locator("td").nth(5).inner_text()) == Decimal("10")  # the Refunded column
    assert money(row.get_by_label("Amount to refund").input_value()) == Decimal("50")  # what is left
    assert amount(shop.invoice(BRUNO, invoice["id"])["value"]) == Decimal("50")

    row.get_by_label("Amount to refund").fill("50.01")
    row.get_by_role("button", name="Refund", exact=True).click()
    reason = "the refund exceeds what is left to refund (50.00"
    expect(page.locator(".field-error")).to_contain_text(reason)
    assert page.locator("main").inner_text().count(reason) == 1  # by the form, not again on top
    assert page.locator(".msg").count() == 0
    row = page.locator("tr", has=page.get_by_text(transaction_id, exact=True))
    assert row.get_by_label("Amount to refund").input_value() == "50.01"  # what was typed, to correct
    assert money(row.locator("td").nth(5).inner_text()) == Decimal("10")
    assert amount(shop.invoice(BRUNO, invoice["id"])["value"]) == Decimal("50")


def test_a_revoked_api_key_is_refused_by_the_api(page, shop):  # noqa: F811 - the fixtures
    label = f"revoke-{uuid.uuid4().hex[:8]}"
    sign_in(page, shop, ADMIN)
    page.goto(shop.base + "/admin/api-keys")
    page.get_by_label("Label").fill(label)
    page.get_by_label("Main Access", exact=True).check()
    page.get_by_role("button", name="Create key").click()
    app_key = page.get_by_role("textbox", name="X-VTEX-API-AppKey").input_value()
    token = page.get_by_role("textbox", name="X-VTEX-API-AppToken").input_value()
    says(page, f"API key {app_key} created.")
    headers = {"X-VTEX-API-AppKey": app_key, "X-VTEX-API-AppToken": token}
    url = f"{shop.base}/api/creditcontrol/accounts/{ANA}"
    assert httpx.get(url, headers=headers, timeout=30).status_code == 200  # the key works

    row = page.locator(f'tr[data-key="{app_key}"]')
    assert row.get_attribute("data-state") == "active" and label in row.inner_text()
    row.get_by_role("button", name="Revoke").click()
    says(page, f"API key {app_key} revoked.")
    row = page.locator(f'tr[data-key="{app_key}"]')
    assert row.get_attribute("data-state") == "revoked"
    assert "Revoked on" in row.inner_text()
    assert row.get_by_role("button", name="Revoke").count() == 0
    with shop.database.read() as session:
        key = next(key for key in list_keys(session) if key.app_key == app_key)
        assert key.revoked_at is not None
    assert httpx.get(url, headers=headers, timeout=30).status_code in (401, 403)
    assert shop.api.get(f"/accounts/{ANA}").status_code == 200  # the other keys still work


def store_state(live) -> dict:
    with live.database.read() as session:
        store = session.get(Store, live.store_id)
        return {
            "endpoints": sorted(e.public_id for e in webhooks.list_endpoints(session, live.store_id)),
            "keys": sorted((k.app_key, k.revoked_at is None) for k in list_keys(session, store)),
            "operators": sorted(
                (o.email, o.role, o.disabled_at is None) for o in users.list_operators(session, store)
            ),
        }


def test_a_viewer_sees_no_changes_on_the_developers_team_and_log_pages(browser, page, shop):  # noqa: F811
    hook = f"http://localhost:9/viewer-{uuid.uuid4().hex[:8]}"
    sign_in(page, shop, ADMIN)  # an endpoint, so that its row and its buttons are on the page
    page.get_by_role("link", name="Developers").click()
    page.get_by_label("URL").fill(hook)
    page.get_by_role("button", name="Add endpoint").click()
    endpoint_id = page.locator("tr[data-endpoint]", has_text=hook).get_attribute("data-endpoint")
    app_key = shop.api.headers["X-VTEX-API-AppKey"]
    before = store_state(shop)
    assert endpoint_id in before["endpoints"] and (app_key, True) in before["keys"]

    theirs = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        tab = theirs.new_page()
        sign_in(tab, shop, VIEWER)
        note = "Your role (viewer) can read but not change anything."
        tab.goto(shop.base + "/admin/webhooks")
        assert tab.locator("#read-only-note").inner_text() == note
        endpoint_row = tab.locator(f'tr[data-endpoint="{endpoint_id}"]')
        assert endpoint_row.get_by_role("button", name="Delete").is_disabled()
        assert tab.get_by_role("button", name="Add endpoint").is_disabled()
        assert tab.get_by_label("URL").is_disabled()

        tab.goto(shop.base + "/admin/api-keys")
        assert tab.locator("#read-only-note").inner_text() == note
        assert tab.locator(f'tr[data-key="{app_key}"]').get_by_role("button", name="Revoke").is_disabled()
        assert tab.get_by_role("button", name="Create key").is_disabled()

        tab.goto(shop.base + "/admin/operators")
        assert tab.locator("#read-only-note").inner_text() == note
        admin_row = tab.locator(f'tr[data-operator="{ADMIN}"]')
        assert admin_row.get_by_role("button", name="Disable").is_disabled()
        assert admin_row.get_by_role("button", name="Make viewer").is_disabled()
        assert tab.get_by_role("button", name="Add operator").is_disabled()
        enabled = tab.locator("main button:enabled").all_inner_texts()
        assert enabled == [], enabled

        tab.goto(shop.base + "/admin/reminders")  # a log to read: no form posts from it
        assert tab.locator('main form[method="post"]').count() == 0
        assert tab.locator("main button").all_inner_texts() == ["Filter"]

        # Hand-made requests with the viewer's valid session and CSRF token are refused.
        token = tab.locator('input[name="csrf_token"]').first.get_attribute("value")
        forged = {
            "/admin/webhooks": {"url": "http://localhost:9/forged"},
            f"/admin/webhooks/{endpoint_id}/delete": {},
            f"/admin/webhooks/{endpoint_id}/deliveries/no-such-event/retry": {},
            "/admin/api-keys": {"label": "forged", "resources": "Main Access"},
            f"/admin/api-keys/{app_key}/revoke": {},
            "/admin/operators": {"email": "forged@shop.example", "role": "admin", "password": PASSWORD},
            "/admin/operators/role": {"email": VIEWER, "role": "admin"},
            "/admin/operators/disable": {"email": ADMIN},
        }
        for path, form in forged.items():
            answer = tab.request.post(shop.base + path, form={"csrf_token": token, **form}, max_redirects=0)
            assert answer.status == 403, (path, answer.status)
    finally:
        theirs.close()
    assert store_state(shop) == before
    assert shop.api.get(f"/accounts/{ANA}").status_code == 200
    page.goto(shop.base + "/admin/webhooks")  # the admin's own endpoint goes again
    page.locator(f'tr[data-endpoint="{endpoint_id}"]').get_by_role("button", name="Delete").click()
    page.wait_for_load_state()
    assert endpoint_id not in store_state(shop)["endpoints"]


def tiny_png(path) -> bytes:
    out = BytesIO()
    Image.new("RGB", (8, 4), (20, 80, 160)).save(out, format="PNG")
    path.write_bytes(out.getvalue())
    return out.getvalue()


def loaded_width(image) -> int:
    return image.evaluate("img => img.complete ? img.naturalWidth : 0")


def save_documents(tab, live, name: str, logo=None, remove_logo: bool = False) -> None:
    tab.goto(live.base + "/admin/settings")
    tab.get_by_label("Name on documents").fill(name)
    if logo is not None:
        tab.locator("#logo").set_input_files(str(logo))
    if remove_logo:
        tab.get_by_label("Remove the logo").check()
    tab.get_by_role("button", name="Save documents").click()
    says(tab, "Documents settings saved.")


def test_the_store_name_and_logo_head_the_console_and_my_credits(browser, page, shop, tmp_path):  # noqa: F811
    name = f"Casa Aurora {uuid.uuid4().hex[:6]}"
    logo = tmp_path / "logo.png"
    # At an address of its own (documents/logo.py), named by its digest.
    source = f"/logos/{shop.store_id}/{hashlib.sha256(tiny_png(logo)).hexdigest()[:32]}"
    sign_in(page, shop, ADMIN)
    page.goto(shop.base + "/admin/settings")
    previous = page.get_by_label("Name on documents").input_value()
    had_logo = page.locator(".logo-preview img").count() == 1
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        save_documents(page, shop, name, logo=logo)
        brand = page.locator("header.top .brand")
        assert brand.get_by_role("link").inner_text() == name
        assert brand.locator("img.logo").get_attribute("src") == source
        assert loaded_width(brand.locator("img.logo")) == 8  # the image is drawn, not blocked
        assert page.title().endswith(f" · {name}")
        assert page.locator(".logo-preview img").get_attribute("src") == source

        mine = phone.new_page()
        mine.goto(shop.link(ANA, "ana@example.com", timedelta(hours=1)))
        assert mine.url == shop.base + "/my-credits"
        customer_brand = mine.locator("[data-store-brand]")
        assert customer_brand.locator(".store-name").inner_text() == name
        assert customer_brand.locator("img.logo").get_attribute("src") == source
        assert loaded_width(customer_brand.locator("img.logo")) == 8
        assert mine.title() == f"My Credits · {name}"
    finally:
        phone.close()
        save_documents(page, shop, previous, remove_logo=not had_logo)
    assert page.locator(".logo-preview img").count() == (1 if had_logo else 0)
    assert name not in page.locator("header.top").inner_text()


def test_the_top_of_my_credits_on_a_phone(browser, shop):  # noqa: F811 - the fixtures
    # Two new installments of Ana's, paid one after the other: a paid history to read.
    for invoice in new_invoices(shop, ANA, "40", installments=2):
        paid = shop.api.post(f"/accounts/{ANA}/invoices/{invoice['id']}/payments")
        assert paid.status_code == 200, paid.text
    with shop.database.read() as session:
        config = stores.get_config(session, shop.store_id)
        locale, currency, zone = config.locale, config.currency, store_zone(config)
    # The server runs on the real clock; Ana's invoices fall due days away from today (4 days
    # ago, or 30 days on), so the hour this runs at changes nothing below.
    today = datetime.now(UTC).astimezone(zone).date()

    def shown(value: Decimal) -> str:
        return format_currency(value, currency, locale=locale)

    def day_of(stamp: str) -> date:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(zone).date()

    invoices = shop.invoices(ANA)
    opened = [invoice for invoice in invoices if invoice["status"] == "Opened"]
    # What each open invoice still asks: its value less what was paid, with late interest.
    asks = {
        invoice["id"]: amount(invoice["value"]) - amount(invoice["creditValue"]) + amount(invoice["interest"])
        for invoice in opened
    }
    owed = sum(asks.values(), Decimal(0))
    due_now = sum((asks[i["id"]] for i in opened if day_of(i["dueDate"]) <= today), Decimal(0))
    assert 0 < due_now < owed
    paid = sorted(
        (invoice for invoice in invoices if invoice["status"] == "Paid"),
        key=lambda invoice: (invoice["resolvedAt"], invoice["installment"]),
        reverse=True,  # newest payment first, as the page reads it
    )
    assert len(paid) >= 2

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        tab = phone.new_page()
        tab.goto(shop.link(ANA, "ana@example.com", timedelta(hours=1)))
        assert tab.url == shop.base + "/my-credits"
        summary = tab.locator("section.summary")
        # At the top: before the first account's section, in the store's money and locale.
        assert summary.evaluate(
            "s => !!(s.compareDocumentPosition(document.querySelector('section.account')) & 4)"
        )
        assert summary.locator('[data-figure="owed"]').inner_text() == f"You owe {shown(owed)}"
        assert summary.locator('[data-figure="due-now"]').inner_text() == f"Due now: {shown(due_now)}"
        assert summary.bounding_box()["y"] < 844  # seen without scrolling

        items = tab.locator("ul.paid li")
        assert items.evaluate_all("lis => lis.map(li => li.dataset.invoice)") == [
            i["friendlyId"] for i in paid
        ]
        days = [day_of(invoice["resolvedAt"]) for invoice in paid]
        assert days == sorted(days, reverse=True)
        for n, invoice in enumerate(paid):
            meta = items.nth(n).locator(".meta").inner_text()
            written = format_date(days[n], "medium", locale=locale)
            assert meta == f"Invoice {invoice['friendlyId']} · paid {written}"
        # Each of those payments is also in the payments received, with its day and invoice.
        received = tab.locator("ul.payments li").evaluate_all(
            "lis => lis.map(li => li.dataset.paymentInvoice)"
        )
        assert {i["friendlyId"] for i in paid} <= set(received)

        icon = tab.locator('link[rel="icon"]')
        assert icon.count() == 1
        answer = tab.request.get(icon.evaluate("link => link.href"))
        assert answer.status == 200
        assert answer.headers["content-type"].startswith("image/")
        assert answer.body()
    finally:
        phone.close()


def card_count(tab, card: str) -> int:
    text = tab.locator(f'[data-card="{card}"]').inner_text()
    return int(re.search(r"(\d[\d,]*) (?:open |overdue )?invoices?\b", text).group(1).replace(",", ""))


def partially_paid(live, **query) -> Decimal:
    """What was paid of the open invoices that match `query` (the list totals their whole value)."""
    found = live.api.get("/invoices", params={"status": "Opened", "from": 1, "to": 1000, **query})
    assert found.status_code == 200, found.text
    return sum((amount(invoice["creditValue"]) for invoice in found.json()["data"]), Decimal(0))


def test_the_dashboard_cards_lead_to_lists_that_agree_with_them(page, shop):  # noqa: F811 - the fixtures
    # An invoice of Bruno's falling due in two days, so the week's card counts something.
    (soon,) = new_invoices(shop, BRUNO, "25")
    with shop.database.write() as session:
        session.execute(
            update(Invoice)
            .where(Invoice.public_id == soon["id"])
            .values(
                due_at=datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
                + timedelta(days=2)
            )
        )
    (bought,) = new_invoices(shop, BRUNO, "12")  # and one paid today, for this month's card
    assert shop.api.post(f"/accounts/{BRUNO}/invoices/{bought['id']}/payments").status_code == 200
    sign_in(page, shop, ADMIN)
    owed, owed_count = money(page.locator('[data-figure="owed"]').inner_text()), card_count(page, "owed")
    page.locator('[data-card="owed"]').click()
    page.wait_for_url("**/admin/invoices?status=Opened")
    assert page.get_by_label("Status").input_value() == "Opened"
    assert int(page.locator('[data-summary="count"]').inner_text().replace(",", "")) == owed_count > 0
    total = money(page.locator('[data-summary="total"]').inner_text())
    assert total - partially_paid(shop) == owed  # the card: value less partial payments
    assert page.locator("#invoice-table tbody tr").count() == min(owed_count, 20)

    page.goto(shop.base + "/admin")
    due_soon, soon_count = (
        money(page.locator('[data-figure="due-soon"]').inner_text()),
        card_count(page, "due-soon"),
    )
    page.locator('[data-card="due-soon"]').click()
    page.wait_for_url("**/admin/invoices?*dueDateFrom=*")
    first_day, last_day = (
        page.get_by_label("Due from").input_value(),
        page.get_by_label("Due to").input_value(),
    )
    assert date.fromisoformat(last_day) - date.fromisoformat(first_day) == timedelta(days=7)
    assert int(page.locator('[data-summary="count"]').inner_text()) == soon_count >= 1
    total = money(page.locator('[data-summary="total"]').inner_text())
    assert total - partially_paid(shop, dueDateFrom=first_day, dueDateTo=last_day) == due_soon
    assert soon["friendlyId"] in page.locator("#invoice-table tbody").inner_text()
    listed = page.locator("#invoice-table tbody tr")
    assert listed.count() == soon_count

    page.goto(shop.base + "/admin")
    paid_month = money(page.locator('[data-figure="paid-month"]').inner_text())
    page.locator('[data-card="paid-month"]').click()
    page.wait_for_url("**/admin/payments?from=*")
    # The card's own period travels in its link, so the page adds up what the card did.
    assert money(page.locator('[data-summary="total"]').inner_text()) == paid_month
    assert (
        int(page.locator('[data-summary="count"]').inner_text())
        == page.locator("#payments-table tbody tr[data-entry]").count()
    )
    assert bought["id"] in page.locator("#payments-table tbody").inner_text()
