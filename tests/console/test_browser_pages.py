"""Console pages in a real browser (Debian's Chromium, Playwright) that no other browser test
covers: the settings of a Spanish store, the team page changing a role and disabling an
operator, the reminder log's status filter over rows the reminder worker wrote, a webhook
endpoint's deliveries retried and resent to a local receiver, a CSV import run as a job with
its progress counts, and the account page copying the My Credits link. Its own server and store
(the fixtures of test_browser)."""

import json
import threading
import uuid
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from customer_credit.csv_io import jobs
from customer_credit.db.engine import Database
from customer_credit.events import dispatcher, webhooks
from customer_credit.events.outbox import sequence_pending
from customer_credit.invoices.models import OPENED, Invoice
from customer_credit.reminders import sender
from customer_credit.reminders import service as reminders
from customer_credit.stores import service as stores
from customer_credit.stores.models import Store
from customer_credit.users import service as users
from tests.conftest import make_settings
from tests.console.test_browser import (  # noqa: F401 - fixtures
    ADMIN,
    BRUNO,
    PASSWORD,
    browser,
    page,
    shop,
    sign_in,
)

# Beside the fast tests on both cores (nothing here is timed), all on one worker: one server and one browser.
pytestmark = [pytest.mark.slow, pytest.mark.shares_cores, pytest.mark.xdist_group("browser")]


def says(tab, text: str) -> None:
    """The page's first message is `text` (waiting for the page the click leads to)."""
    expect(tab.locator(".msg").first).to_have_text(text)


def test_a_spanish_store_reads_and_saves_its_settings_in_spanish(page, shop):  # noqa: F811 - the fixtures
    before = shop.api.get("/storeconfig").json()
    sign_in(page, shop, ADMIN)
    try:
        page.get_by_role("link", name="Settings").click()
        page.get_by_label("Locale").fill("es_ES")
        page.get_by_label("Currency").fill("EUR")
        page.get_by_role("button", name="Save settings").click()
        expect(page.locator("html")).to_have_attribute("lang", "es-ES")
        assert page.get_by_role("heading", name="Configuración", exact=True).count() == 1
        says(page, "Settings saved.")  # said in the language the form was sent in

        page.get_by_label("Tasa diaria de interés por mora").fill("2,5%")
        page.get_by_label("Tasa de impuesto").fill("5")
        page.get_by_role("button", name="Guardar configuración", exact=True).click()
        says(page, "Configuración guardada.")
        # Shown back as the Spanish notation writes a percentage.
        assert page.get_by_label("Tasa diaria de interés por mora").input_value() == "2,5%"
        assert page.get_by_label("Tasa de impuesto").input_value() == "5%"
        assert page.get_by_label("Límite de crédito predeterminado").input_value() == "500,00"
        saved = shop.api.get("/storeconfig").json()
        assert Decimal(str(saved["dailyInterestRate"])) == Decimal("0.025")
        assert Decimal(str(saved["taxRate"])) == Decimal("0.05")
        assert Decimal(str(saved["defaultCreditValue"])) == Decimal(str(before["defaultCreditValue"]))

        # A rate that is a number in no notation is refused, by its field, and nothing changes.
        page.get_by_label("Tasa de impuesto").fill("2.5.1%")
        page.get_by_role("button", name="Guardar configuración", exact=True).click()
        assert page.locator(".field-error").count() == 1
        assert "Tasa de impuesto" in page.locator(".field-error").inner_text()
        assert Decimal(str(shop.api.get("/storeconfig").json()["taxRate"])) == Decimal("0.05")
    finally:
        with shop.database.write() as session:
            stores.save_config(session, shop.store_id, {"locale": "en_US", "currency": "USD"})
        # Through the server, which forgets its cached configuration: the next page is English.
        assert shop.api.put("/storeconfig", json=before).status_code == 200
    page.goto(shop.base + "/admin/settings")
    assert page.locator("html").get_attribute("lang") == "en-US"


def operator_row(tab, email: str):
    return tab.locator(f'tr[data-operator="{email}"]')


def test_an_admin_changes_a_role_and_disables_an_operator(browser, page, shop):  # noqa: F811 - the fixtures
    email = f"team-{uuid.uuid4().hex[:8]}@shop.example"
    sign_in(page, shop, ADMIN)
    page.get_by_role("link", name="Team").click()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Role").select_option("viewer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Add operator").click()
    says(page, f"Operator {email} created.")
    row = operator_row(page, email)
    assert (row.get_attribute("data-role"), row.get_attribute("data-state")) == ("viewer", "active")

    theirs = browser.new_context()
    try:
        their_page = theirs.new_page()
        sign_in(their_page, shop, email)  # the new operator can sign in

        operator_row(page, email).get_by_role("button", name="Make admin").click()
        says(page, f"{email} is now admin.")
        assert operator_row(page, email).get_attribute("data-role") == "admin"
        assert operator_row(page, email).get_by_role("button", name="Make viewer").count() == 1

        operator_row(page, email).get_by_role("button", name="Disable").click()
        says(page, f"{email} disabled; their sessions have ended.")
        row = operator_row(page, email)
        assert row.get_attribute("data-state") == "disabled"
        assert "Disabled on" in row.inner_text()
        assert row.get_by_role("button", name="Enable").count() == 1
        with shop.database.read() as session:
            operator = users.find_operator(session, session.get(Store, shop.store_id), email)
            assert operator.role == "admin" and operator.disabled_at is not None

        their_page.goto(shop.base + "/admin/accounts")  # their session has ended
        assert "/admin/sign-in" in their_page.url
    finally:
        theirs.close()

    fresh = browser.new_context()
    try:
        attempt = fresh.new_page()
        attempt.goto(shop.base + "/admin/sign-in")
        attempt.get_by_label("E-mail").fill(email)
        attempt.get_by_label("Password").fill(PASSWORD)
        attempt.get_by_role("button", name="Sign in").click()
        says(attempt, "Wrong e-mail or password.")
        assert "/admin/sign-in" in attempt.url
        attempt.goto(shop.base + "/admin")
        assert "/admin/sign-in" in attempt.url
    finally:
        fresh.close()
    assert operator_row(page, ADMIN).get_attribute("data-state") == "active"  # the others are untouched


def shown_reminders(tab) -> list[tuple[int, str]]:
    rows = tab.locator("tr[data-reminder]")
    return [
        (int(rows.nth(n).get_attribute("data-reminder")), rows.nth(n).get_attribute("data-status"))
        for n in range(rows.count())
    ]


def logged(live, status: str | None = None) -> list[tuple[int, str]]:
    with live.database.read() as session:
        rows = reminders.reminder_log(session, live.store_id, status=status, limit=25)
        return [(reminder.id, reminder.status) for reminder, _invoice in rows]


def test_the_reminder_log_filters_by_status(page, shop):  # noqa: F811 - the fixtures
    sign_in(page, shop, ADMIN)
    # Two reminders before the due date, set in the settings page.
    page.get_by_role("link", name="Settings").click()
    for index, days in enumerate((2, 1)):
        page.locator(f'input[name="daysPrior_{index}_days"]').fill(str(days))
        page.locator(f'input[name="daysPrior_{index}_time"]').fill("08:00")
    page.get_by_role("button", name="Save settings").click()
    says(page, "Settings saved.")
    saved = shop.api.get("/storeconfig").json()["notificationsSettings"]["daysPrior"]
    assert sorted(trigger["days"] for trigger in saved) == [1, 2]
    invoice = next(row for row in shop.invoices(BRUNO) if row["status"] == "Opened")
    with shop.database.read() as session:
        found = session.scalars(select(Invoice).where(Invoice.public_id == invoice["id"])).one()
        due_at, created_at = found.due_at.replace(tzinfo=UTC), found.created_at.replace(tzinfo=UTC)
        assert found.status == OPENED
    due_day = due_at.date()  # the store's zone is UTC
    assert datetime.combine(due_day - timedelta(days=2), time(8), tzinfo=UTC) > created_at
    # The day before the due date at noon: both reminders' times have come; the worker claims
    # the later one (1 day before) and skips the other as superseded, then sends the first.
    moment = datetime.combine(due_day - timedelta(days=1), time(12), tzinfo=UTC)
    assert sender.schedule_job(shop.database, moment) >= 2
    assert sender.send_due(shop.database, moment) >= 1

    page.get_by_role("link", name="Reminder log").click()
    everything = logged(shop)
    assert {status for _id, status in everything} == {"sent", "skipped"}
    assert shown_reminders(page) == everything
    with shop.database.read() as session:
        assert reminders.count_reminders(session, shop.store_id) == len(everything)  # one page
    assert page.locator("p.count").inner_text() == f"{len(everything)} reminders"
    ours = page.locator("tr[data-reminder]", has_text=invoice["id"])
    assert ours.count() == 2

    page.get_by_label("Status").select_option("sent")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/admin/reminders?status=sent")
    sent = logged(shop, "sent")
    assert shown_reminders(page) == sent and 0 < len(sent) < len(everything)
    row = page.locator("tr[data-reminder]", has_text=invoice["id"])
    assert "\t1 day before due\t" in row.inner_text() and "bruno@example.com" in row.inner_text()
    assert page.locator("p.count").inner_text() == f"{len(sent)} reminder{'' if len(sent) == 1 else 's'}"

    page.get_by_label("Status").select_option("skipped")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/admin/reminders?status=skipped")
    skipped = logged(shop, "skipped")
    assert shown_reminders(page) == skipped and len(sent) + len(skipped) == len(everything)
    row = page.locator("tr[data-reminder]", has_text=invoice["id"])
    assert "2 days before due" in row.inner_text()
    assert "superseded by a later reminder" in row.inner_text()

    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/admin/reminders?status=failed")
    assert shown_reminders(page) == [] and "No reminder matches." in page.locator("tbody").inner_text()
    assert page.locator("p.count").inner_text() == "0 reminders"


class Receiver:
    """A webhook receiver on this machine: answers 500 to the bodies that hold `failing` (until
    it is fixed), else 204, and keeps each webhook-id it was sent."""

    def __init__(self, failing: str):
        self.failing = failing
        self.received: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                receiver.received.append(self.headers["webhook-id"])
                broken = receiver.failing and receiver.failing in body
                self.send_response(500 if broken else 204)
                self.end_headers()

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_webhook_worker(worker: Database) -> None:
    # The server sets a retried delivery due at its own (real) clock, so the worker runs on it too.
    now = datetime.now(UTC)
    with worker.write() as session:
        while sequence_pending(session):
            pass
        while webhooks.fanout(session, now):
            pass
    for _ in range(10):
        if not dispatcher.deliver_due(worker, now):
            break


def delivery_states(live, endpoint_id: str) -> dict[str, tuple[str, int]]:
    with live.database.read() as session:
        endpoint = webhooks.get_endpoint(session, live.store_id, endpoint_id)
        rows = webhooks.deliveries(session, endpoint, status=None, limit=100)
        return {event_id: (delivery.status, delivery.attempts) for delivery, event_id, _type in rows}


def test_webhook_deliveries_are_retried_and_resent_from_the_page(page, shop):  # noqa: F811 - the fixtures
    failing, working = "91111111111_CPF", "92222222222_CPF"
    receiver = Receiver(failing)
    settings = shop.database.settings
    # The worker may reach this machine's receiver; one failed attempt is final (1 s window).
    worker = Database(
        make_settings(
            settings.database_url,
            settings.data_dir,
            webhook_allowed_hosts="localhost",
            webhook_retry_window_s=1,
            webhook_timeout_s=5,
        )
    )
    try:
        with worker.write() as session:
            while sequence_pending(session):  # what happened before the endpoint is not sent
                pass
        sign_in(page, shop, ADMIN)
        page.get_by_role("link", name="Developers").click()
        page.get_by_label("URL").fill(receiver.url)
        page.get_by_label("account.opened", exact=True).check()
        page.get_by_role("button", name="Add endpoint").click()
        endpoint_row = page.locator("tr[data-endpoint]", has_text=receiver.url)
        endpoint_id = endpoint_row.get_attribute("data-endpoint")
        for account_id in (failing, working):
            document = account_id.split("_")[0]
            opened = shop.api.post(
                "/accounts",
                json={"document": document, "documentType": "CPF", "email": f"{document}@example.com"},
            )
            assert opened.status_code == 200, opened.text
        run_webhook_worker(worker)
        states = delivery_states(shop, endpoint_id)
        assert sorted(states.values()) == [("delivered", 1), ("failed", 1)]
        failed_id = next(event for event, (status, _n) in states.items() if status == "failed")
        delivered_id = next(event for event, (status, _n) in states.items() if status == "delivered")
        assert sorted(receiver.received) == sorted([failed_id, delivered_id])

        page.reload()
        assert "delivered 1, failed 1" in endpoint_row.inner_text()
        page.get_by_role("link", name=endpoint_id).click()
        assert page.locator("p.count").inner_text() == "2 deliveries"
        failed_row = page.locator(f'tr[data-delivery="{failed_id}"]')
        delivered_row = page.locator(f'tr[data-delivery="{delivered_id}"]')
        # The status, and the receiver's last answer in the "Last answer" column.
        assert failed_row.get_attribute("data-status") == "failed"
        assert failed_row.locator("td").nth(5).inner_text() == "500"
        assert delivered_row.get_attribute("data-status") == "delivered"
        assert delivered_row.locator("td").nth(5).inner_text() == "204"
        assert delivered_row.get_by_role("button", name="Retry").count() == 0

        failed_row.get_by_role("button", name="Retry").click()
        says(page, f"Delivery of {failed_id} will be sent again (pending).")
        assert failed_row.get_attribute("data-status") == "pending"
        assert failed_row.locator("[data-attempts]").inner_text() == "0"
        assert failed_row.get_by_role("button").count() == 0
        assert delivery_states(shop, endpoint_id)[failed_id] == ("pending", 0)
        receiver.failing = ""  # the receiver is fixed
        run_webhook_worker(worker)
        page.reload()
        assert failed_row.get_attribute("data-status") == "delivered"
        assert failed_row.locator("[data-attempts]").inner_text() == "1"
        assert receiver.received.count(failed_id) == 2  # the same webhook-id again

        delivered_row.get_by_role("button", name="Resend").click()
        says(page, f"Delivery of {delivered_id} will be sent again (pending).")
        assert delivered_row.get_attribute("data-status") == "pending"
        run_webhook_worker(worker)
        page.reload()
        assert delivered_row.get_attribute("data-status") == "delivered"
        assert receiver.received.count(delivered_id) == 2
        assert set(delivery_states(shop, endpoint_id).values()) == {("delivered", 1)}
        page.get_by_role("link", name="Webhooks").first.click()
        assert "delivered 2" in endpoint_row.inner_text()
    finally:
        receiver.close()
        worker.dispose()


def progress_of(tab, base: str, import_id: str) -> dict:
    answer = tab.request.get(f"{base}/admin/import/{import_id}/progress.json")
    assert answer.status == 200
    return json.loads(answer.text())


def test_a_csv_import_job_shows_its_progress_counts(page, shop, tmp_path):  # noqa: F811 - the fixtures
    total = jobs.CHUNK_ROWS + 10  # two chunks of the worker's job
    lines = ["document,documentType,email,creditLimit"]
    lines += [f"{93000000000 + n},CPF,job{n}@example.com,150" for n in range(total)]
    big = tmp_path / "job.csv"
    big.write_text("\n".join(lines) + "\n")
    sign_in(page, shop, ADMIN)
    page.goto(shop.base + "/admin/import")
    page.get_by_label("Accounts: open new ones").check()
    page.get_by_label("CSV file").set_input_files(str(big))
    page.get_by_role("button", name="Preview").click()
    page.wait_for_url("**/admin/import/*")
    import_id = page.url.split("?")[0].rsplit("/", 1)[1]
    progress = page.locator("#import-progress")
    expect(progress).to_have_attribute("data-done", "0")
    assert progress.get_attribute("data-total") == str(total)
    assert progress.inner_text() == f"0 of {total} rows (0%)"
    assert "Waiting for the worker to start." in page.locator("main").inner_text()
    assert progress_of(page, shop.base, import_id)["doneRows"] == 0

    assert shop.run_import_chunks(limit=1) == 1  # one chunk at a time
    page.reload()
    expect(progress).to_have_attribute("data-done", str(jobs.CHUNK_ROWS))
    percent = jobs.CHUNK_ROWS * 100 // total
    assert progress.inner_text() == f"{jobs.CHUNK_ROWS} of {total} rows ({percent}%)"
    assert page.locator("progress").get_attribute("value") == str(jobs.CHUNK_ROWS)
    assert progress_of(page, shop.base, import_id) == {
        "status": "previewing",
        "doneRows": jobs.CHUNK_ROWS,
        "totalRows": total,
        "percent": percent,
    }
    assert shop.run_import_chunks(limit=1) == 1
    page.reload()
    outcome = page.locator("#import-outcome")
    expect(outcome).to_contain_text(f"Preview: {total} changes")
    assert progress_of(page, shop.base, import_id)["doneRows"] == total
    assert shop.api.get(f"/accounts/{93000000000}_CPF").status_code == 404  # nothing applied yet

    page.get_by_role("button", name=f"Apply {total} changes").click()
    expect(progress).to_have_attribute("data-done", "0")  # applying starts over
    assert page.get_by_role("heading", level=1).inner_text().startswith("Applying")
    shop.run_import_chunks(limit=5)
    page.reload()
    expect(outcome).to_contain_text(f"Applied: {total} changes")
    assert progress_of(page, shop.base, import_id) == {
        "status": "done",
        "doneRows": total,
        "totalRows": total,
        "percent": 100,
    }
    for n in (0, jobs.CHUNK_ROWS - 1, total - 1):
        account = shop.api.get(f"/accounts/{93000000000 + n}_CPF")
        assert account.status_code == 200, account.text
        assert Decimal(str(account.json()["creditLimit"])) == Decimal("150")


def test_the_account_page_copies_the_my_credits_link(browser, shop):  # noqa: F811 - the fixtures
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, permissions=["clipboard-read", "clipboard-write"]
    )
    tab = context.new_page()
    try:
        sign_in(tab, shop, ADMIN)
        tab.goto(f"{shop.base}/admin/accounts/{BRUNO}")
        tab.get_by_role("button", name="Create link").click()
        link = tab.locator("#my-credits-url").input_value()
        assert link.startswith(shop.base + "/my-credits")
        copy = tab.get_by_role("button", name="Copy link")
        copy.click()
        expect(tab.locator("#copy-my-credits-url")).to_have_text("Copied")
        assert tab.evaluate("navigator.clipboard.readText()") == link
        expect(tab.locator("#copy-my-credits-url")).to_have_text("Copy link", timeout=5_000)
        # The copied link is the customer's way in: it opens their My Credits page.
        customer = browser.new_context().new_page()
        customer.goto(tab.evaluate("navigator.clipboard.readText()"))
        assert customer.url == shop.base + "/my-credits"
        assert customer.locator("section.account h2").all_inner_texts() == [f"Account {BRUNO}"]
        customer.context.close()
    finally:
        context.close()
