"""The dashboard a finance team reconciles with: each figure labelled with its definition and
linked to its filter, the aging buckets and the last twelve months as charts, counts with
digit grouping and plurals. SQLite and PostgreSQL, on a frozen clock."""

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from customer_credit.console import trends
from customer_credit.console.formatting import Presentation
from tests.console.support import signed_in
from tests.console.test_pages import configure_presentation, invoices_of, set_invoice
from tests.helpers import open_account, purchase

NOW = datetime(2026, 6, 15, 15, 0, tzinfo=UTC)


def row_of(html: str, attribute: str, key: str) -> str:
    found = re.search(rf'<tr {attribute}="{key}">(.*?)</tr>', html, re.S)
    assert found, f"no row {attribute}={key}"
    return found.group(1).replace("\xa0", " ")


def bar_width(row: str, css_class: str) -> int:
    found = re.search(rf'class="bar {css_class}"[^>]*width="(\d+)"', row)
    assert found, f"no bar {css_class}"
    return int(found.group(1))


def test_lengths_are_whole_shares_of_the_largest_and_never_hide_a_value():
    assert trends.lengths([0, 0]) == [0, 0]
    assert trends.lengths([200, 100, 1, 0]) == [100, 50, 1, 0]
    assert trends.lengths([3, 3]) == [100, 100]


def test_months_are_local_calendar_months_across_the_year_end():
    zone = ZoneInfo("America/Sao_Paulo")
    # 01:00 UTC on New Year's Day is still 31 December in São Paulo.
    bounds = trends.month_starts(datetime(2027, 1, 1, 1, 0, tzinfo=UTC), zone)
    assert len(bounds) == 13
    assert bounds[0].date() == date(2026, 1, 1)
    assert bounds[-2].date() == date(2026, 12, 1)
    assert bounds[-1] == datetime(2027, 1, 1, tzinfo=zone)
    assert trends.month_starts(datetime(2027, 1, 1, 4, 0, tzinfo=UTC), zone)[-2].date() == date(2027, 1, 1)


def test_counts_are_grouped_in_the_store_locale():
    assert Presentation(locale="en_US").count(6000) == "6,000"
    assert Presentation(locale="pt_BR").count(6000) == "6.000"
    assert Presentation(locale="pt_BR").month(date(2026, 12, 1)).lower().startswith("dez")


def test_aging_and_twelve_months_charts_and_linked_cards(app, store, api, database, frozen_clock):
    frozen_clock.set(NOW)
    buyer = open_account(api, credit_limit="1000")["id"]
    purchase(api, buyer, "100")
    purchase(api, buyer, "50")
    purchase(api, buyer, "7")
    old, recent, small = invoices_of(api, buyer)
    set_invoice(
        database,
        store,
        old["id"],
        due_at=NOW - timedelta(days=40),
        created_at=datetime(2026, 4, 10, tzinfo=UTC),
    )
    set_invoice(
        database,
        store,
        recent["id"],
        due_at=NOW + timedelta(days=3),
        created_at=datetime(2026, 6, 1, tzinfo=UTC),
    )
    set_invoice(database, store, small["id"], created_at=datetime(2025, 7, 2, tzinfo=UTC))
    paid = api.post(f"/accounts/{buyer}/invoices/{small['id']}/payments")
    assert paid.status_code == 200, paid.text

    page = signed_in(app, store).get("/admin").text

    assert "$50.00" in row_of(page, "data-bucket", "current")
    assert "$100.00" in row_of(page, "data-bucket", "days31To60")
    assert bar_width(row_of(page, "data-bucket", "days31To60"), "bar-days31To60") == 100
    assert bar_width(row_of(page, "data-bucket", "current"), "bar-current") == 50
    assert bar_width(row_of(page, "data-bucket", "over90"), "bar-over90") == 0

    months = re.findall(r'<tr data-month="(\d{4}-\d{2})">', page)
    assert months[0] == "2025-07" and months[-1] == "2026-06" and len(months) == 12
    july = row_of(page, "data-month", "2025-07")
    assert "$7.00" in july and bar_width(july, "bar-invoiced") == 7
    april = row_of(page, "data-month", "2026-04")
    assert "$100.00" in april and bar_width(april, "bar-invoiced") == 100
    june = row_of(page, "data-month", "2026-06")  # the payment was made today
    assert bar_width(june, "bar-invoiced") == 50 and bar_width(june, "bar-paid") == 7

    assert 'href="/admin/invoices?status=Opened" data-card="owed"' in page
    assert "dueDateFrom=2026-06-15&amp;dueDateTo=2026-06-22" in page
    assert "2 open invoices" in page and "1 overdue invoice<" in page
    assert "value less partial payments" in page


def test_a_pt_br_store_reads_the_dashboard_in_portuguese(app, store, api, frozen_clock):
    frozen_clock.set(NOW)
    console = signed_in(app, store)
    configure_presentation(console, locale="pt_BR", currency="BRL", timezone_name="America/Sao_Paulo")
    page = console.get("/admin").text
    assert '<html lang="pt-BR">' in page
    assert "Painel" in page and "Dashboard<" not in page
    assert "Contas" in page
    assert "jun. de 2026" in page.replace("\xa0", " ")
