"""The console's invoice list and dashboard send a bounded number of SQL statements however
many invoices the store holds (no statement per row shown, no count walked page by page), and
the invoice list keeps its rows and their order. SQLite and PostgreSQL; no timing is asserted
(bench/console.py measures the pages on a large book)."""

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from customer_credit.stores import service as stores
from tests.console.support import signed_in
from tests.console.test_pages import friendly_ids
from tests.helpers import open_account, purchase

# Statements sent for one page. On SQLite, whose BEGINs are statements too, the invoice list
# sends 8 today (the session and its store, the store's totals, the page, the navigation's
# badge, three BEGINs; fewer on PostgreSQL) and the dashboard 10. Room for a new badge,
# none for a statement per row.
MAX_INVOICE_LIST_STATEMENTS = 10
MAX_DASHBOARD_STATEMENTS = 12
INVOICE_LISTS = (
    "/admin/invoices",
    "/admin/invoices?status=Opened",
    "/admin/invoices?status=Expired",
    "/admin/invoices?sort=-value",
    "/admin/invoices?value=1.00",
    "/admin/invoices?page=2",
)


@contextmanager
def statements_sent(database) -> Iterator[list[str]]:
    """The SQL statements the app sends on any of its engines while the block runs."""
    sent: list[str] = []

    def record(_connection, _cursor, statement, *_args) -> None:
        sent.append(statement)

    engines = {
        id(engine): engine
        for engine in (database.read_engine, database.write_engine, database.replica_engine)
        if engine is not None
    }.values()
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def statements_of(console, database, path: str) -> int:
    console.get(path)  # caches filled (prepared statements, the session's first use)
    with statements_sent(database) as sent:
        response = console.get(path)
    assert response.status_code == 200, response.text
    return len(sent)


def invoice_values(html: str) -> list[str]:
    """The Value column of the invoice table, in the order shown."""
    body = html.split('<table id="invoice-table">', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [re.findall(r'<td class="num">([^<]*)</td>', row)[0] for row in rows]


def test_the_invoice_list_and_dashboard_send_as_many_statements_for_24_invoices_as_for_60(
    app, store, api, database, monkeypatch
):
    # The store's settings are cached for 2 s by the monotonic clock: expiring mid-test would
    # add a statement to one request and not to another.
    monkeypatch.setattr(stores.config_cache, "ttl_s", 3600.0)
    buyer = open_account(api, credit_limit="100000")["id"]
    for value in ("12.00", "144.00"):
        purchase(api, buyer, value, installments=12)  # 24 invoices: two pages
    console = signed_in(app, store)
    paths = (*INVOICE_LISTS, "/admin")
    few = {path: statements_of(console, database, path) for path in paths}

    for value in ("120.00", "240.00", "360.00"):
        purchase(api, buyer, value, installments=12)  # 36 more: three pages
    many = {path: statements_of(console, database, path) for path in paths}

    assert many == few
    for path in INVOICE_LISTS:
        assert many[path] <= MAX_INVOICE_LIST_STATEMENTS, (path, many[path])
    assert many["/admin"] <= MAX_DASHBOARD_STATEMENTS


def test_the_invoice_list_sorted_by_value_keeps_every_row_once_in_order(app, store, api):
    buyer = open_account(api, credit_limit="100000")["id"]
    for value, installments in (("120.00", 12), ("36.00", 12), ("7.00", 1)):
        purchase(api, buyer, value, installments=installments)  # 10.00 ×12, 3.00 ×12, 7.00
    console = signed_in(app, store)

    first = console.get("/admin/invoices?sort=-value").text
    second = console.get("/admin/invoices?sort=-value&page=2").text

    assert invoice_values(first) == ["$10.00"] * 12 + ["$7.00"] + ["$3.00"] * 7
    assert invoice_values(second) == ["$3.00"] * 5
    shown = friendly_ids(first) | friendly_ids(second)
    assert len(friendly_ids(first)) == 20 and len(shown) == 25
    assert 'data-summary="count">25<' in first
