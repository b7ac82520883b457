"""Console actions in a real browser (Debian's Chromium, Playwright) that no other browser test
covers: a payment recorded with the keyboard alone, a table sorted by its column header both
ways, a dashboard card leading to its filtered list, a hold released from the account page, and
a refused close shown disabled with its reason. Its own server and store (the fixtures of
test_browser)."""

from decimal import Decimal

import pytest

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
ANA = "11111111111_CPF"


def money(text: str) -> Decimal:
    return Decimal(text.strip().replace("$", "").replace(",", ""))


def focused_text(tab) -> str:
    return tab.evaluate("(document.activeElement.textContent || '').trim()")


def test_the_keyboard_alone_records_a_payment(page, shop):  # noqa: F811 - the fixtures
    shop.purchase(BRUNO, "45")
    invoice = next(row for row in shop.invoices(BRUNO) if row["status"] == "Opened")
    sign_in(page, shop, ADMIN)
    page.goto(f"{shop.base}/admin/accounts/{BRUNO}/invoices/{invoice['id']}")
    for _ in range(120):
        page.keyboard.press("Tab")
        if focused_text(page) == "Record payment":
            break
    assert focused_text(page) == "Record payment"
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert message(page) in ("Invoice marked as paid.", "Payment recorded.")
    assert shop.invoice(BRUNO, invoice["id"])["status"] == "Paid"
    assert money(page.locator('[data-figure="paid"]').inner_text()) == Decimal(str(invoice["value"]))
    rows = page.locator("tr[data-payment]")
    assert rows.count() == 1
    assert money(rows.first.locator("td").nth(1).inner_text()) == Decimal(str(invoice["value"]))


def invoice_values(tab) -> list[Decimal]:
    return [money(cell) for cell in tab.locator("#invoice-table tbody tr td:nth-child(5)").all_inner_texts()]


def test_sorting_the_invoices_by_value_flips_the_rows(page, shop):  # noqa: F811 - the fixtures
    sign_in(page, shop, ADMIN)
    page.goto(shop.base + "/admin/invoices")
    header = page.locator("#invoice-table th", has=page.get_by_role("link", name="Value"))
    page.locator("#invoice-table thead").get_by_role("link", name="Value").click()
    first = header.get_attribute("aria-sort")
    assert first in ("ascending", "descending")
    values = invoice_values(page)
    assert len(set(values)) > 1
    assert values == sorted(values, reverse=first == "descending")
    page.locator("#invoice-table thead").get_by_role("link", name="Value").click()
    second = header.get_attribute("aria-sort")
    assert {first, second} == {"ascending", "descending"}
    flipped = invoice_values(page)
    assert flipped == sorted(flipped, reverse=second == "descending")
    assert sorted(flipped) == sorted(values)


def test_the_overdue_card_leads_to_the_overdue_invoices(page, shop):  # noqa: F811 - the fixtures
    late = shop.invoices(ANA)[3]
    sign_in(page, shop, ADMIN)
    page.locator('[data-card="overdue"]').click()
    page.wait_for_url("**/admin/invoices?status=Expired")
    assert page.get_by_label("Status").input_value() == "Expired"
    rows = page.locator("#invoice-table tbody tr")
    assert rows.count() >= 1
    statuses = rows.locator("td:nth-child(3)").all_inner_texts()
    assert statuses and all(status.strip() == "Expired" for status in statuses)
    assert late["friendlyId"] in page.locator("#invoice-table tbody").inner_text()
    # The invoices not yet due are not listed.
    listed = rows.locator("td:nth-child(1)").all_inner_texts()
    for account_id in (ANA, BRUNO):
        for invoice in shop.invoices(account_id):
            if invoice["id"] != late["id"]:
                assert invoice["friendlyId"] not in listed


def test_releasing_a_hold_from_the_account_page(page, shop):  # noqa: F811 - the fixtures
    before = Decimal(str(shop.account(BRUNO)["availableCredit"]))
    held = shop.api.post(
        f"/accounts/{BRUNO}/transactions", json={"value": "75", "settle": False, "installments": 1}
    )
    assert held.status_code == 200, held.text
    transaction_id = held.json()["id"]
    assert Decimal(str(shop.account(BRUNO)["availableCredit"])) == before - Decimal("75")
    sign_in(page, shop, ADMIN)
    page.goto(f"{shop.base}/admin/accounts/{BRUNO}")
    row = page.locator("tr", has=page.get_by_text(transaction_id, exact=True))
    row.get_by_role("button", name="Release hold").click()
    page.wait_for_load_state()
    row = page.locator("tr", has=page.get_by_text(transaction_id, exact=True))
    assert row.get_by_role("button", name="Release hold").count() == 0
    assert "Nothing to release or refund" in row.inner_text()
    assert Decimal(str(shop.account(BRUNO)["availableCredit"])) == before


def test_closing_an_account_with_open_invoices_is_refused_with_its_reason(page, shop):  # noqa: F811
    assert any(invoice["status"] == "Opened" for invoice in shop.invoices(ANA))
    sign_in(page, shop, ADMIN)
    page.goto(f"{shop.base}/admin/accounts/{ANA}")
    close = page.get_by_role("button", name="Close account")
    assert close.is_disabled()
    assert close.get_attribute("aria-describedby") == "close-refusal"
    refusal = page.locator("#close-refusal")
    assert refusal.is_visible()
    assert refusal.inner_text().startswith("Not now:")
    assert "invoice" in refusal.inner_text().lower()
    assert shop.account(ANA).get("isActive", True) is not False


def test_a_large_import_runs_as_a_job_and_lists_errors_first(page, shop, tmp_path):  # noqa: F811
    lines = ["document,documentType,email,creditLimit"]
    lines += [f"{70000000000 + n},CPF,bulk{n}@example.com,100" for n in range(205)]
    lines += ["80000000001,CPF,not-an-email,100", "80000000002,CPF,carla@example.com,-5"]
    lines += ["70000000000,CPF,bulk0@example.com,100"]  # the first row again
    big = tmp_path / "big.csv"
    big.write_text("\n".join(lines) + "\n")
    sign_in(page, shop, ADMIN)
    page.goto(shop.base + "/admin/import")
    page.get_by_label("Accounts: open new ones").check()
    page.get_by_label("CSV file").set_input_files(str(big))
    page.get_by_role("button", name="Preview").click()
    page.wait_for_url("**/admin/import/*")
    progress = page.url.split("?")[0]
    assert page.locator("#import-progress").count() == 1  # the progress page, not the result
    shop.run_import_chunks(limit=20)
    page.goto(progress)
    outcome = page.locator("#import-outcome").inner_text()
    assert "2 rows with errors" in outcome
    rows = page.locator("#import-rows tbody tr")
    texts = rows.all_inner_texts()
    assert "email: must be an e-mail address" in texts[0]
    assert "creditLimit: must not be negative" in texts[1]
    assert "duplicate" in texts[2].lower()
    page.locator("#import-filter").get_by_role("link", name="Errors only").click()
    errors = page.locator("#import-rows tbody tr").all_inner_texts()
    assert len(errors) == 2
    assert shop.api.get("/accounts/70000000000_CPF").status_code == 404  # nothing applied
