"""The console and My Credits in a real browser (Chromium from the machine's packages, driven by
Playwright) against a real server process on SQLite: what an operator and a customer do,
with a screenshot of each page in test-artifacts/screenshots/."""

import re
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from customer_credit.auth.principal import Principal
from customer_credit.auth.resources import MAIN_ACCESS
from customer_credit.auth.service import create_key
from customer_credit.csv_io import jobs
from customer_credit.db.engine import Database
from customer_credit.db.migrate import upgrade
from customer_credit.invoices.models import Invoice
from customer_credit.my_credits import links
from customer_credit.stores import service as stores
from customer_credit.users import service as users
from tests.conftest import make_settings
from tests.console.live import CHROMIUM, CHROMIUM_ARGS, LiveServer, screenshot

# Beside the fast tests on both cores (nothing here is timed), all on one worker: one server and one browser.
pytestmark = [pytest.mark.slow, pytest.mark.shares_cores, pytest.mark.xdist_group("browser")]
playwright_api = pytest.importorskip("playwright.sync_api")

PASSWORD = "browser tests password"
ADMIN = "admin@shop.example"
VIEWER = "viewer@shop.example"
ANA = "11111111111_CPF"
BRUNO = "22222222222_CPF"


class Shop:
    """The server, its database, an API client with Main Access, and the data the tests use."""

    def __init__(self, server: LiveServer, database: Database, store_id: int, api: httpx.Client, secret: str):
        self.server = server
        self.base = server.base_url
        self.database = database
        self.store_id = store_id
        self.api = api
        self.secret = secret

    def invoices(self, account_id: str) -> list[dict]:
        return self.api.get(f"/accounts/{account_id}/invoices").json()["data"]

    def invoice(self, account_id: str, invoice_id: str) -> dict:
        return self.api.get(f"/accounts/{account_id}/invoices/{invoice_id}").json()

    def account(self, account_id: str) -> dict:
        return self.api.get(f"/accounts/{account_id}").json()

    def purchase(self, account_id: str, value: str, installments: int = 1) -> None:
        held = self.api.post(
            f"/accounts/{account_id}/transactions",
            json={"value": value, "settle": True, "installments": installments},
        )
        assert held.status_code == 200, held.text
        settled = self.api.put(
            f"/accounts/{account_id}/transactions/{held.json()['id']}/settlement", json={"value": value}
        )
        assert settled.status_code == 200, settled.text

    def run_import_chunks(self, limit: int = 100) -> int:
        """What the worker would do for CSV import jobs, which the live server does not run: up
        to `limit` chunks, stopping when none is left; returns how many ran. On the real clock,
        because the server that queued the jobs runs on it; no test asserts anything that
        depends on the time of day."""
        ran = 0
        while ran < limit:
            with self.database.write() as session:
                if not jobs.run_imports(session, datetime.now(UTC)):
                    break
            ran += 1
        return ran

    def link(self, account_id: str, email: str, ttl: timedelta, now: datetime | None = None) -> str:
        principal = Principal(
            store_id=self.store_id, name="browser tests", resources=frozenset({MAIN_ACCESS})
        )
        with self.database.write() as session:
            return links.issue_link(session, principal, account_id, email, ttl, now=now).url(self.base)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    data = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{data / 'shop.db'}"
    upgrade(url)
    settings = make_settings(url, data)
    database = Database(settings)
    with database.write() as session:
        store = stores.create_store(session, "shop")
        issued = create_key(session, store, [MAIN_ACCESS], "browser tests")
        users.create_operator(session, store, ADMIN, "admin", PASSWORD)
        users.create_operator(session, store, VIEWER, "viewer", PASSWORD)
        store_id = store.id
    server = LiveServer(url, data, settings.secret_key)
    api = httpx.Client(
        base_url=server.base_url + "/api/creditcontrol",
        headers={"X-VTEX-API-AppKey": issued.app_key, "X-VTEX-API-AppToken": issued.app_token},
        timeout=30,
    )
    shop = Shop(server, database, store_id, api, settings.secret_key)
    configured = api.put(
        "/storeconfig",
        json={
            "dailyInterestRate": "0.001",
            "invoicePostponementLimit": 2,
            "taxRate": 0,
            "maxPostponementDays": 10,
            "defaultCreditValue": "500",
            "maxPreAuthorizationGrowthRate": 0,
            "myCreditsEnabled": True,
            "toleranceEnabled": False,
            "automaticCheckingAccountCreationEnabled": False,
            "postponementEnabled": True,
        },
    )
    assert configured.status_code == 200, configured.text
    with database.write() as session:
        stores.save_config(
            session, store_id, {"payment_instructions": "Pix key: pay@shop.example\nor bank slip."}
        )
    for document, email in (("11111111111", "ana@example.com"), ("22222222222", "bruno@example.com")):
        opened = api.post(
            "/accounts",
            json={"document": document, "documentType": "CPF", "email": email, "creditLimit": "1000"},
        )
        assert opened.status_code == 200, opened.text
    shop.purchase(ANA, "300", installments=3)
    shop.purchase(ANA, "50")
    shop.purchase(BRUNO, "80")
    late = shop.invoices(ANA)[3]
    with database.write() as session:
        session.execute(
            update(Invoice)
            .where(Invoice.public_id == late["id"])
            .values(
                # 4 calendar days ago in the store's zone (UTC) whatever the time of day: the server
                # process runs on the real clock.
                due_at=datetime.now(UTC).replace(hour=0, minute=30, second=0, microsecond=0)
                - timedelta(days=4)
            )
        )
    for invoice in shop.invoices(ANA):
        api.put(
            f"/accounts/{ANA}/invoices/{invoice['id']}",
            json={"status": "Opened", "paymentLink": f"https://pay.example/{invoice['friendlyId']}"},
        )
    yield shop
    api.close()
    server.stop()
    database.dispose()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: `make install` (apt-get install chromium) installs it"
        )
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    opened.on("dialog", lambda dialog: dialog.accept())
    yield opened
    context.close()


def sign_in(page, shop: Shop, email: str) -> None:
    page.goto(shop.base + "/admin")
    assert page.url.endswith("/admin/sign-in?next=%2Fadmin")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(shop.base + "/admin")


def message(page) -> str:
    return page.locator(".msg").first.inner_text()


def unlabelled_fields(page) -> list[str]:
    return page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(el => el.type !== 'hidden' && !el.hidden)
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
            .map(el => el.name || el.id)"""
    )


def test_an_operator_does_the_seed_guide_in_the_console(page, shop):
    page.goto(shop.base + "/admin/sign-in")
    screenshot(page, "sign-in")
    assert page.evaluate("document.activeElement.id") == "email"
    sign_in(page, shop, ADMIN)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert page.locator('[data-figure="overdue"]').inner_text() == "$50.00"
    assert page.locator('[data-figure="owed"]').inner_text() == "$430.00"
    screenshot(page, "dashboard", for_docs=True)

    # Find the account and change its limit.
    page.get_by_role("link", name="Accounts", exact=True).click()
    page.get_by_label("Search").fill("ana@")
    page.get_by_role("button", name="Search").click()
    assert page.locator("tbody tr").count() == 1
    screenshot(page, "accounts")
    page.get_by_role("link", name=ANA).click()
    assert page.locator('[data-figure="balance"]').inner_text() == "-$350.00"
    assert unlabelled_fields(page) == []
    page.get_by_label("New credit limit").fill("1500")
    page.get_by_role("button", name="Change limit").click()
    assert message(page) == "Credit limit changed."
    assert page.locator('[data-figure="limit"]').inner_text() == "$1,500.00"
    assert Decimal(str(shop.account(ANA)["creditLimit"])) == Decimal("1500")
    screenshot(page, "account", for_docs=True)

    # Search the account's invoices with filters; the summary covers every match.
    page.get_by_role("link", name="Invoices", exact=True).click()
    page.get_by_label("Status").select_option("Opened")
    page.get_by_label("Account id").fill(ANA)
    page.get_by_role("button", name="Search").click()
    assert page.locator('[data-summary="count"]').inner_text() == "4"
    assert page.locator('[data-summary="total"]').inner_text() == "$350.00"
    assert page.locator("#invoice-table tbody tr").count() == 4
    page.get_by_label("Status").select_option("Expired")
    page.get_by_role("button", name="Search").click()
    assert page.locator('[data-summary="count"]').inner_text() == "1"
    assert page.locator('[data-summary="total"]').inner_text() == "$50.00"
    assert "Expired" in page.locator("#invoice-table tbody").inner_text()
    screenshot(page, "invoices", for_docs=True)
    page.get_by_label("Status").select_option("Opened")
    page.get_by_label("Value").fill("100")
    page.get_by_role("button", name="Search").click()
    assert page.locator('[data-summary="count"]').inner_text() == "3"

    # Mark the first installment paid, then see that it can no longer be cancelled.
    first, second = shop.invoices(ANA)[:2]
    page.get_by_role("link", name=first["friendlyId"]).click()
    page.get_by_role("button", name="Record payment").click()
    assert message(page) == "Invoice marked as paid."
    assert shop.invoice(ANA, first["id"])["status"] == "Paid"
    # The refused action is a disabled button that says why.
    cancel = page.get_by_role("button", name="Cancel invoice")
    assert cancel.is_disabled()
    assert "a paid invoice can no longer be cancelled" in page.locator("#cancel-refusal").inner_text()
    assert shop.invoice(ANA, first["id"])["status"] == "Paid"
    screenshot(page, "invoice-refusal")

    # Postpone the second one within the store's rules, then beyond them.
    page.goto(f"{shop.base}/admin/accounts/{ANA}/invoices/{second['id']}")
    assert "Postponed 0 of at most 2 times" in page.locator("#postpone-rules").inner_text()
    page.get_by_label("Days to add").fill("5")
    page.get_by_role("button", name="Postpone").click()
    assert message(page) == "Invoice postponed by 5 days."
    assert "up to 5 more days" in page.locator("#postpone-rules").inner_text()
    page.get_by_label("Days to add").fill("6")
    page.get_by_role("button", name="Postpone").click()
    assert message(page) == "the due date may end at most 10 days after the original one"
    moved = shop.invoice(ANA, second["id"])
    assert moved["postponements"] == 1

    # Observations are text, even when they look like HTML.
    page.get_by_label("Observation", exact=True).fill("<b>call</b> before the 10th")
    page.get_by_role("button", name="Save", exact=True).click()
    assert message(page) == "Invoice details saved."
    assert page.locator("#observation-text").inner_text() == "<b>call</b> before the 10th"
    assert page.locator("#observation-text b").count() == 0
    screenshot(page, "invoice", for_docs=True)

    page.get_by_role("link", name="Settings").click()
    assert unlabelled_fields(page) == []
    page.get_by_label("Daily late interest rate").fill("300%")
    page.get_by_role("button", name="Save settings").click()
    assert "Daily late interest rate: must be between 0% and 100%" in page.content()
    screenshot(page, "settings")

    page.get_by_role("button", name="Sign out").click()
    assert message(page) == "You are signed out."
    page.goto(shop.base + "/admin/accounts")
    assert "/admin/sign-in" in page.url


def test_export_reimport_and_bad_rows(page, shop, tmp_path):
    sign_in(page, shop, ADMIN)
    page.goto(shop.base + "/admin/accounts")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    exported = tmp_path / "accounts.csv"
    download.value.save_as(exported)
    assert {ANA, BRUNO} <= set(re.findall(r"^([^,]+_CPF),", exported.read_text(), re.M))
    before = [shop.account(ANA), shop.account(BRUNO)]

    page.get_by_role("link", name="Import / export").click()
    page.get_by_label("Accounts: open new ones").check()
    page.get_by_label("CSV file").set_input_files(str(exported))
    page.get_by_role("button", name="Preview").click()
    assert "Preview: 0 changes" in page.locator("#import-outcome").inner_text()
    assert page.get_by_role("button", name=re.compile("^Apply")).count() == 0
    assert [shop.account(ANA), shop.account(BRUNO)] == before
    screenshot(page, "import-preview")

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "document,documentType,email,creditLimit\n"
        "33333333333,CPF,carla@example.com,200\n"
        "44444444444,CPF,not-an-email,200\n"
        "55555555555,XYZ,dora@example.com,200\n"
        "66666666666,CPF,eva@example.com,-5\n"
    )
    page.get_by_role("link", name="Import / export").click()
    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Preview").click()
    rows = page.locator("#import-rows tbody tr")
    assert rows.count() == 4
    # Errors first, then the rest in file order.
    assert "email: must be an e-mail address" in rows.nth(0).inner_text()
    assert "documentType: must be one of CPF, CNPJ, Other" in rows.nth(1).inner_text()
    assert "creditLimit: must not be negative" in rows.nth(2).inner_text()
    assert "create" in rows.nth(3).inner_text()
    assert "3 rows with errors" in page.locator("#import-outcome").inner_text()
    screenshot(page, "import-errors", for_docs=True)
    assert shop.api.get("/accounts/33333333333_CPF").status_code == 404

    good = tmp_path / "good.csv"
    good.write_text("document,documentType,email,creditLimit\n33333333333,CPF,carla@example.com,200\n")
    page.get_by_role("link", name="Import / export").click()
    page.get_by_label("CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Apply 1 change").click()
    assert "Applied: 1 change" in page.locator("#import-outcome").inner_text()
    assert Decimal(str(shop.account("33333333333_CPF")["creditLimit"])) == Decimal("200")

    page.goto(shop.base + "/admin/invoices?status=Opened&creditAccountId=" + BRUNO)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    invoices_csv = tmp_path / "invoices.csv"
    download.value.save_as(invoices_csv)
    lines = invoices_csv.read_text().splitlines()
    assert len(lines) == 2 and ",80.00,0.00," in lines[1]


def test_a_viewer_cannot_change_anything(page, shop):
    sign_in(page, shop, VIEWER)
    page.goto(f"{shop.base}/admin/accounts/{BRUNO}")
    assert page.get_by_role("button", name="Change limit").count() == 0
    assert page.get_by_role("button", name="Close account").count() == 0
    screenshot(page, "account-viewer")
    invoice = shop.invoices(BRUNO)[0]
    page.goto(f"{shop.base}/admin/accounts/{BRUNO}/invoices/{invoice['id']}")
    assert page.get_by_role("button", name="Record payment").count() == 0
    page.goto(shop.base + "/admin/settings")
    assert page.get_by_label("Daily late interest rate").is_disabled()
    assert page.get_by_role("button", name="Save settings").count() == 0
    page.goto(shop.base + "/admin/import")
    assert page.get_by_label("CSV file").count() == 0
    # Even a hand-made request with a valid token is refused.
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    forged = page.request.post(
        f"{shop.base}/admin/accounts/{BRUNO}/limit",
        form={"csrf_token": token, "creditLimit": "1"},
        max_redirects=0,
    )
    assert forged.status == 403
    assert Decimal(str(shop.account(BRUNO)["creditLimit"])) == Decimal("1000")


def test_a_customer_link_shows_only_their_accounts_and_expires(browser, shop):
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    try:
        page.goto(shop.link(ANA, "ana@example.com", timedelta(hours=1)))
        assert page.url == shop.base + "/my-credits"
        headings = page.locator("section.account h2").all_inner_texts()
        assert headings == [f"Account {ANA}"]
        assert BRUNO not in page.content() and "bruno@example.com" not in page.content()
        overdue = page.locator("ul.overdue li")
        assert overdue.count() == 1
        assert "4 days overdue" in overdue.inner_text()
        # 50.00 owed + 4 days × 0.1% = 0.20 of interest
        assert "$50.20" in overdue.inner_text()
        pay = page.locator("ul.open li").first.get_by_role("link", name=re.compile("^Pay"))
        assert pay.get_attribute("href").startswith("https://pay.example/")
        assert pay.get_attribute("target") == "_blank"
        assert "Pix key: pay@shop.example" in page.locator(".instructions").inner_text()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # no sideways scrolling on a phone
        screenshot(page, "my-credits", for_docs=True)

        page.context.clear_cookies()
        # The shortest lifetime is a minute: issued 55 s in the past, the link has 4 to 5 s left.
        issued_at = datetime.now(UTC) - timedelta(seconds=55)
        page.goto(shop.link(BRUNO, "bruno@example.com", timedelta(minutes=1), now=issued_at))
        assert page.locator("section.account h2").all_inner_texts() == [f"Account {BRUNO}"]
        time.sleep(5.2)
        page.reload()
        assert "expired" in page.locator(".problem").inner_text()
        assert BRUNO not in page.content()
        screenshot(page, "my-credits-expired")
    finally:
        phone.close()
