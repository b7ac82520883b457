"""Refresh docs/screenshots/ from the demo data: a throwaway SQLite database filled by
`customer-credit demo`, the real server, and Debian's Chromium driven by Playwright.

Run: .venv/bin/python -m tools.screenshots
"""

import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import Page, ViewportSize, sync_playwright

from tests.console.live import CHROMIUM, CHROMIUM_ARGS, LiveServer

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "docs" / "screenshots"
STORE = "demo"
OPERATOR = "demo@example.com"
# The realistic volumes; SQLite loads them in a few seconds.
ACCOUNTS = 6000
INVOICES = 10000
SECRET_KEY = "screenshots-only-secret-key-0123456789abcdef"
DESKTOP = ViewportSize(width=1366, height=900)
PHONE = ViewportSize(width=390, height=844)  # drawn at device scale 2


def load_demo(env: dict[str, str]) -> str:
    """Fills the database and returns the new operator's password (printed once by the loader)."""
    started = time.monotonic()
    command = [str(Path(sys.executable).with_name("customer-credit")), "demo", "--seed", "17"]
    command += ["--accounts", str(ACCOUNTS), "--invoices", str(INVOICES), "--operator-email", OPERATOR]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"demo failed:\n{result.stdout}\n{result.stderr}")
    print(f"demo loaded in {time.monotonic() - started:.1f} s")
    for line in result.stdout.splitlines():
        if line.startswith("store "):
            print(line)
    found = re.search(r"password: (\S+)", result.stdout)
    if not found:
        raise RuntimeError(f"no password in the demo output:\n{result.stdout}")
    return found.group(1)


def shoot(page: Page, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    print(f"  {name}.png  {page.url}")


def sign_in(page: Page, base: str, password: str) -> None:
    page.goto(base + "/admin")
    page.get_by_label("E-mail").fill(OPERATOR)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/admin")


def save_settings(page: Page, base: str, **fields: str) -> None:
    page.goto(base + "/admin/settings")
    for name, value in fields.items():
        field = page.locator(f"#{name}")
        if value == "on":
            field.check()
        else:
            field.fill(value)
    page.locator("form button[type=submit]", has_text=re.compile("Save settings|Salvar")).click()
    page.wait_for_load_state("networkidle")


def record_payments(page: Page, base: str) -> str:
    """Two payments (with dates and references) on an open invoice that is not yet due, so its
    timeline has rows; returns the invoice page's URL."""
    # Due in ten days or later: neither overdue nor turned overdue by the worker pass below.
    due_from = (date.today() + timedelta(days=10)).isoformat()
    page.goto(f"{base}/admin/invoices?status=Opened&dueDateFrom={due_from}")
    href = page.locator("table tbody td:first-child a").first.get_attribute("href")
    url = base + str(href)
    page.goto(url)
    today = date.fromisoformat(page.get_by_label("Payment date").input_value())
    owed = _owed(page)
    first, second = (owed * 40 // 100), (owed * 25 // 100)
    for cents, days_ago, reference in ((first, 6, "TRF-20431"), (second, 1, "PIX-88120")):
        page.get_by_label("Amount received").fill(f"{cents // 100}.{cents % 100:02d}")
        page.get_by_label("Payment date").fill((today - timedelta(days=days_ago)).isoformat())
        page.get_by_label("Reference", exact=True).fill(reference)
        page.get_by_role("button", name="Record payment").click()
        page.wait_for_load_state("networkidle")
    return url


def _owed(page: Page) -> int:
    """What the invoice still owes, in cents, read from the payment form's hint (en_US amounts)."""
    hint = page.get_by_text(re.compile(r"Empty: the whole .* still owed")).first.inner_text()
    found = re.search(r"\$([\d,]+)\.(\d\d)", hint)
    if not found:
        raise RuntimeError(f"no amount in {hint!r}")
    return int(found.group(1).replace(",", "")) * 100 + int(found.group(2))


def run_worker_once(env: dict[str, str]) -> None:
    """One pass of the background jobs, so the webhook endpoint gets its (failing) deliveries."""
    command = [str(Path(sys.executable).with_name("customer-credit")), "worker", "--once"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=300)
    print(f"worker --once: exit {result.returncode} {result.stdout.strip()[-300:]}")


def main() -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cc-screenshots-") as scratch:
        data_dir = Path(scratch)
        database_url = f"sqlite:///{data_dir / 'customer-credit.db'}"
        env = {
            **os.environ,
            "CUSTOMER_CREDIT_DATABASE_URL": database_url,
            "CUSTOMER_CREDIT_DATA_DIR": str(data_dir),
            "CUSTOMER_CREDIT_SECRET_KEY": SECRET_KEY,
            # The endpoint below: nothing listens there, so its deliveries show as failed attempts.
            "CUSTOMER_CREDIT_WEBHOOK_ALLOWED_HOSTS": "localhost",
        }
        password = load_demo(env)
        server = LiveServer(database_url, data_dir, SECRET_KEY)
        try:
            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                context = browser.new_context(viewport=DESKTOP)
                page = context.new_page()
                page.set_default_timeout(20_000)
                page.on("dialog", lambda dialog: dialog.accept())
                base = server.base_url
                sign_in(page, base, password)
                shoot(page, "dashboard")
                page.goto(base + "/admin/invoices")
                shoot(page, "invoices")
                page.goto(base + "/admin/webhooks")
                page.get_by_label("URL").fill("http://localhost:9/customer-credit")
                page.get_by_role("button", name="Add endpoint").click()
                page.wait_for_load_state("networkidle")
                invoice_url = record_payments(page, base)  # after the endpoint: its events are delivered
                run_worker_once(env)
                page.goto(invoice_url)
                shoot(page, "invoice")
                page.goto(base + "/admin/webhooks")
                shoot(page, "webhooks")
                endpoint = page.locator("table tbody a[href^='/admin/webhooks/']").first
                if endpoint.count():
                    endpoint.click()
                    shoot(page, "webhook-deliveries")
                save_settings(page, base, myCreditsEnabled="on")
                account_url = invoice_url.split("/invoices/")[0]
                page.goto(account_url)
                page.get_by_role("button", name="Create link").click()
                page.wait_for_load_state("networkidle")
                link = page.locator("#my-credits-url").input_value()
                page.goto(account_url)
                shoot(page, "account")
                phone = browser.new_context(
                    viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
                )
                customer = phone.new_page()
                customer.goto(link)
                shoot(customer, "my-credits")
                phone.close()
                save_settings(page, base, locale="pt_BR", currency="BRL", timezone="America/Sao_Paulo")
                page.goto(base + "/admin")
                shoot(page, "pt-br")
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
