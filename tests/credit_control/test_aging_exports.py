"""The aging report as CSV (API and console), from the command line and on the console page, on
SQLite and PostgreSQL: one row per account and a total row with two decimals, the same figures
as the JSON report, and a page a viewer may open."""

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from customer_credit import cli, logs
from customer_credit.settings import get_settings
from tests.console.support import signed_in
from tests.credit_control.test_aging import SAO_PAULO, in_zone, invoice_due, local
from tests.helpers import open_account

COLUMNS = ["row", "creditAccountId", "current", "days1To30", "days31To60", "days61To90", "over90", "total"]
NOW = datetime(2026, 12, 15, 15, 0, tzinfo=UTC)


def rows_of(text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == COLUMNS
    return list(reader)


@pytest.fixture
def owed(api, database, store, frozen_clock) -> dict[str, str]:
    """Three accounts owing in several buckets, at NOW; account id → its total."""
    in_zone(api, database, store, "UTC")
    first, second, third = (open_account(api, credit_limit="10000")["id"] for _ in range(3))
    invoice_due(api, database, store, first, "100", NOW + timedelta(days=2))
    invoice_due(api, database, store, first, "20.5", NOW - timedelta(days=40))
    invoice_due(api, database, store, second, "1000.01", NOW - timedelta(days=100))
    invoice_due(api, database, store, third, "3", NOW - timedelta(days=75))
    frozen_clock.set(NOW)
    return {first: "120.50", second: "1000.01", third: "3.00"}


def test_the_api_csv_has_a_row_per_account_and_a_total_row(api, owed):
    response = api.get("/aging.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="aging-2026-12-15.csv"' in response.headers["content-disposition"]
    rows = rows_of(response.text)
    assert [(row["row"], row["creditAccountId"], row["total"]) for row in rows] == [
        *(
            ("account", account_id, total)
            for account_id, total in sorted(owed.items(), key=lambda kv: -Decimal(kv[1]))
        ),
        ("total", "", "1123.51"),
    ]
    by_id = {row["creditAccountId"]: row for row in rows}
    first = next(iter(owed))
    assert by_id[first] == {
        "row": "account",
        "creditAccountId": first,
        "current": "100.00",
        "days1To30": "0.00",
        "days31To60": "20.50",
        "days61To90": "0.00",
        "over90": "0.00",
        "total": "120.50",
    }
    assert rows[-1] | {"row": "", "creditAccountId": ""} == {
        "row": "",
        "creditAccountId": "",
        "current": "100.00",
        "days1To30": "0.00",
        "days31To60": "20.50",
        "days61To90": "3.00",
        "over90": "1000.01",
        "total": "1123.51",
    }
    # Every column adds up to the total row, and matches the JSON report.
    for name in COLUMNS[2:]:
        assert sum(Decimal(row[name]) for row in rows[:-1]) == Decimal(rows[-1][name]), name
    report = json.loads(api.get("/aging").text, parse_float=Decimal)
    assert {name: Decimal(rows[-1][name]) for name in COLUMNS[2:]} == {
        name: report["summary"][name] for name in COLUMNS[2:]
    }


def test_the_csv_follows_at(api, owed):
    later = rows_of(api.get("/aging.csv", params={"at": "2027-02-01"}).text)[-1]
    assert [later[name] for name in COLUMNS[2:]] == ["0.00", "0.00", "100.00", "20.50", "1003.01", "1123.51"]
    assert api.get("/aging.csv", params={"at": "never"}).status_code == 400


def test_an_empty_store_has_only_the_total_row(api):
    assert rows_of(api.get("/aging.csv").text) == [
        dict(zip(COLUMNS, ["total", "", *["0.00"] * 6], strict=True))
    ]


# --- the command -------------------------------------------------------------------------


@pytest.fixture
def run_cli(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTOMER_CREDIT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CUSTOMER_CREDIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CUSTOMER_CREDIT_LOG_LEVEL", "WARNING")
    monkeypatch.setattr(logs, "configure", lambda level: None)
    get_settings.cache_clear()

    def run(*args: str):
        return CliRunner().invoke(cli.app, list(args))

    yield run
    get_settings.cache_clear()


def test_the_command_prints_the_table_and_writes_the_csv(api, store, owed, run_cli, tmp_path):
    target = tmp_path / "aging.csv"
    result = run_cli("aging", "--store", store.name, "--at", NOW.isoformat(), "--csv", str(target))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"Aging of {store.name} on 2026-12-15 (UTC): 3 accounts owe 1123.51"
    assert lines[1].split() == [
        "Account",
        "Current",
        "1–30",
        "days",
        "31–60",
        "days",
        "61–90",
        "days",
        "Over",
        "90",
        "days",
        "Total",
    ]
    accounts = [line.split() for line in lines[3:6]]
    assert [cells[0] for cells in accounts] == sorted(owed, key=lambda account_id: -Decimal(owed[account_id]))
    first = next(iter(owed))
    assert next(cells for cells in accounts if cells[0] == first) == [
        first,
        "100.00",
        "0.00",
        "20.50",
        "0.00",
        "0.00",
        "120.50",
    ]
    assert lines[7].split() == ["Total", "100.00", "0.00", "20.50", "3.00", "1000.01", "1123.51"]
    # Amounts right-aligned in their columns.
    assert len({len(line) for line in lines[3:6] + lines[7:8]}) == 1
    assert lines[-1] == f"wrote {target}"
    assert target.read_bytes().decode("utf-8") == api.get("/aging.csv", params={"at": NOW.isoformat()}).text


def test_the_command_reads_a_day_in_the_store_zone(api, database, store, run_cli, frozen_clock):
    in_zone(api, database, store, SAO_PAULO)
    account_id = open_account(api)["id"]
    invoice_due(api, database, store, account_id, "7", local(SAO_PAULO, "2026-12-01T23:30"))
    on_due_day = run_cli("aging", "--store", store.name, "--at", "2026-12-01")
    assert on_due_day.exit_code == 0, on_due_day.output
    assert "on 2026-12-01 (America/Sao_Paulo)" in on_due_day.stdout
    assert on_due_day.stdout.splitlines()[-1].split() == [
        "Total",
        "7.00",
        "0.00",
        "0.00",
        "0.00",
        "0.00",
        "7.00",
    ]
    next_day = run_cli("aging", "--store", store.name, "--at", "2026-12-02T02:00Z")  # 23:00 Dec 1 local
    assert next_day.stdout.splitlines()[-1].split()[1:3] == ["7.00", "0.00"]
    next_day = run_cli("aging", "--store", store.name, "--at", "2026-12-02T03:00Z")  # midnight local
    assert next_day.stdout.splitlines()[-1].split()[1:3] == ["0.00", "7.00"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "tomorrow"], "--at"),
        (["--store", "no-such-store-anywhere"], "no store named no-such-store-anywhere"),
    ],
)
def test_the_command_fails_in_one_line(store, run_cli, args, message):
    arguments = ["aging", "--store", store.name, *args] if "--store" not in args else ["aging", *args]
    result = run_cli(*arguments)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and message in line


def test_the_command_reports_an_unwritable_file(store, run_cli, tmp_path):
    result = run_cli("aging", "--store", store.name, "--csv", str(tmp_path / "missing" / "aging.csv"))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot write")


# --- the console ---------------------------------------------------------------------------


def test_a_viewer_sees_the_aging_page(app, store, owed):
    console = signed_in(app, store, role="viewer")
    page = console.get("/admin/aging")
    assert page.status_code == 200, page.text
    html = page.text
    assert '<a href="/admin/aging" aria-current="page">Aging</a>' in html
    summary = html[html.index('id="aging-summary"') : html.index('id="aging-table"')]
    assert re.findall(r'data-bucket="[^"]+">([^<]+)<', summary) == [
        "$100.00",
        "$0.00",
        "$20.50",
        "$3.00",
        "$1,000.01",
        "$1,123.51",
    ]
    table = html[html.index('id="aging-table"') :]
    linked = re.findall(r'<a href="/admin/accounts/([^"]+)">', table)
    assert linked == sorted(owed, key=lambda account_id: -Decimal(owed[account_id]))
    assert "$1,000.01" in table and "$120.50" in table
    assert "3 accounts owe anything" in html
    assert 'href="/admin/export/aging.csv?"' in html


def test_the_console_csv_is_the_api_csv(app, store, api, owed):
    console = signed_in(app, store, role="viewer")
    download = console.get("/admin/export/aging.csv")
    assert download.status_code == 200
    assert f'filename="{store.name}-aging-2026-12-15.csv"' in download.headers["content-disposition"]
    assert download.text == api.get("/aging.csv").text
    dated = console.get("/admin/export/aging.csv", params={"at": "2027-02-01"})
    assert dated.text == api.get("/aging.csv", params={"at": "2027-02-01"}).text


def test_the_console_page_as_of_a_day(app, store, owed):
    console = signed_in(app, store)
    page = console.get("/admin/aging", params={"at": "2027-02-01"})
    assert page.status_code == 200
    assert 'href="/admin/export/aging.csv?at=2027-02-01"' in page.text
    summary = page.text[page.text.index('id="aging-summary"') : page.text.index('id="aging-table"')]
    assert re.findall(r'data-bucket="[^"]+">([^<]+)<', summary) == [
        "$0.00",
        "$0.00",
        "$100.00",
        "$20.50",
        "$1,003.01",
        "$1,123.51",
    ]
    refused = console.get("/admin/aging", params={"at": "2027-02-30"})
    assert refused.status_code == 400
    assert "must be an ISO 8601 date" in refused.text


def test_the_console_page_pages_and_needs_a_session(app, store, api, database, frozen_clock):
    for _ in range(52):
        invoice_due(api, database, store, open_account(api)["id"], "1", NOW)
    frozen_clock.set(NOW)
    console = signed_in(app, store, role="viewer")
    first = console.get("/admin/aging")
    assert len(re.findall(r"<tr data-account=", first.text)) == 50
    assert "Page 1 of 2" in first.text
    last = console.get("/admin/aging", params={"page": "9"})
    assert len(re.findall(r"<tr data-account=", last.text)) == 2 and "Page 2 of 2" in last.text
    anonymous = signed_in(app, store).client
    anonymous.cookies.clear()
    assert anonymous.get("/admin/aging").status_code == 303
    assert anonymous.get("/admin/export/aging.csv").status_code == 303
