"""The console's own 404 and 405 pages (the API keeps its JSON errors), and the order of the
accounts and invoices tables: newest first, open invoices due soonest, `sort` on a column."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import update

from customer_credit.accounts.models import Account
from customer_credit.console import accounts_pages, invoices_pages
from customer_credit.invoices.models import Invoice
from tests.console.support import signed_in
from tests.helpers import open_account, purchase

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock(frozen_clock):
    frozen_clock.set(NOW)
    return frozen_clock


def set_account(database, store, public_id: str, **values) -> None:
    with database.write() as session:
        session.execute(
            update(Account)
            .where(Account.store_id == store.id, Account.public_id == public_id)
            .values(**values)
        )


def set_invoice(database, store, friendly_id: str, **values) -> None:
    with database.write() as session:
        session.execute(
            update(Invoice)
            .where(Invoice.store_id == store.id, Invoice.friendly_id == friendly_id)
            .values(**values)
        )


def account_rows(html: str) -> list[str]:
    return [
        found
        for found in re.findall(r'<td class="nowrap"><a href="/admin/accounts/([^"/?]+)">', html)
        if found != "new"
    ]


def invoice_rows(html: str) -> list[str]:
    return re.findall(r'/invoices/[^"]+">([A-Za-z0-9]{8}-\d+)</a>', html)


def aria_sort(html: str) -> list[tuple[str, str]]:
    """(direction, sort link) of the header the table is sorted on."""
    found = re.findall(r'aria-sort="(\w+)"><a class="sort" href="\?([^"]*)"', html)
    return [(direction, unescape(link)) for direction, link in found]


def next_page(html: str) -> str:
    found = re.search(r'href="\?([^"]+)" rel="next"', html)
    assert found, "no next page link"
    return unescape(found.group(1))


# --- 404 and 405 -------------------------------------------------------------------------


def test_unknown_console_path_is_an_html_404(app, store, api):
    console = signed_in(app, store)
    response = console.get("/admin/nope")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in response.text
    assert "There is no such page." in response.text
    assert response.headers["x-frame-options"] == "DENY"
    # Signed out too: a page, not JSON.
    anonymous = signed_in(app, store).client
    anonymous.cookies.clear()
    assert anonymous.get("/admin/accounts/x/nope/deeper").headers["content-type"].startswith("text/html")


def test_api_errors_stay_json(app, store, api):
    missing = api.get("/no-such-route")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/json")
    assert missing.json()["error"]["code"] == "RouteNotFound"
    # A path that only starts like the console is not the console.
    assert api.get("/administrator").headers["content-type"].startswith("application/json")
    wrong = api.request("DELETE", "/accounts")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "MethodNotAllowed"
    assert {"GET", "POST"} <= {m.strip() for m in wrong.headers["allow"].split(",")}


def test_get_of_a_post_only_console_url_goes_back_to_its_page(app, store, api):
    account_id = open_account(api)["id"]
    purchase(api, account_id, "10")
    invoice_id = api.get(f"/accounts/{account_id}/invoices").json()["data"][0]["id"]
    console = signed_in(app, store)
    base = f"/admin/accounts/{account_id}"

    reloaded = console.get(f"{base}/limit")
    assert reloaded.status_code == 303
    assert reloaded.headers["location"] == base
    assert console.get(reloaded.headers["location"]).status_code == 200

    pay = console.get(f"{base}/invoices/{invoice_id}/pay")
    assert pay.status_code == 303 and pay.headers["location"] == f"{base}/invoices/{invoice_id}"


def test_other_405s_are_html_pages(app, store):
    console = signed_in(app, store)
    response = console.client.request("DELETE", "/admin/accounts")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("text/html")
    assert "DELETE is not allowed on this page." in response.text
    assert "GET" in {m.strip() for m in response.headers["allow"].split(",")}


# --- accounts ----------------------------------------------------------------------------


@pytest.fixture
def three_accounts(api, database, store, clock):
    """a (oldest, limit 300), b (limit 100), c (newest, limit 200), ids in the order a < b < c."""
    ids = {}
    for name, limit, days in (("a", "300", 3), ("b", "100", 2), ("c", "200", 1)):
        public_id = open_account(api, credit_limit=limit)["id"]
        set_account(database, store, public_id, created_at=NOW - timedelta(days=days))
        ids[name] = public_id
    return ids


def test_accounts_are_newest_first_and_sort_on_two_columns(app, store, three_accounts):
    a, b, c = three_accounts["a"], three_accounts["b"], three_accounts["c"]
    console = signed_in(app, store)

    default = console.get("/admin/accounts")
    assert default.status_code == 200
    assert account_rows(default.text) == [c, b, a]
    assert aria_sort(default.text) == [("descending", "status=Open&sort=created")]

    assert account_rows(console.get("/admin/accounts?sort=created").text) == [a, b, c]
    by_limit = console.get("/admin/accounts?sort=limit").text
    assert account_rows(by_limit) == [b, c, a]
    assert aria_sort(by_limit) == [("ascending", "status=Open&sort=-limit")]
    assert account_rows(console.get("/admin/accounts?sort=-limit").text) == [a, c, b]
    assert account_rows(console.get("/admin/accounts?sort=account").text) == sorted([a, b, c])
    assert account_rows(console.get("/admin/accounts?sort=-account").text) == sorted([a, b, c], reverse=True)


@pytest.mark.parametrize("bogus", ["nope", "-", "--limit", "created_at", "id; DROP TABLE accounts", "-id"])
def test_an_unknown_sort_is_the_default_order(app, store, three_accounts, bogus):
    console = signed_in(app, store)
    response = console.get("/admin/accounts", params={"sort": bogus})
    assert response.status_code == 200
    assert account_rows(response.text) == [three_accounts[k] for k in "cba"]
    assert aria_sort(response.text)[0][0] == "descending"


def test_paging_keeps_the_sort(app, store, three_accounts, monkeypatch):
    monkeypatch.setattr(accounts_pages, "PAGE_SIZE", 2)
    a, b, c = three_accounts["a"], three_accounts["b"], three_accounts["c"]
    console = signed_in(app, store)
    first = console.get("/admin/accounts?sort=-limit").text
    assert account_rows(first) == [a, c]
    next_link = next_page(first)
    assert "sort=-limit" in next_link
    assert account_rows(console.get(f"/admin/accounts?{next_link}").text) == [b]
    # The default order carries no sort parameter and still pages newest first.
    default = console.get("/admin/accounts").text
    default_next = next_page(default)
    assert "sort" not in default_next
    assert account_rows(console.get(f"/admin/accounts?{default_next}").text) == [a]


# --- invoices ----------------------------------------------------------------------------


@pytest.fixture
def four_invoices(api, database, store, clock):
    """Four open invoices and a paid one:
    name: created (days ago), due (days from now), value."""
    account_id = open_account(api, credit_limit="10000")["id"]
    purchase(api, account_id, "50", installments=5)
    found = api.get(f"/accounts/{account_id}/invoices").json()["data"]
    friendly = [invoice["friendlyId"] for invoice in found]
    assert len(friendly) == 5
    shape = {
        "old": (5, 30, 100),
        "mid": (4, 10, 300),
        "new": (2, 20, 200),
        "newest": (1, 40, 50),
        "paid": (3, 5, 400),
    }
    names = {}
    for (name, (created, due, value)), friendly_id in zip(shape.items(), friendly, strict=True):
        set_invoice(
            database,
            store,
            friendly_id,
            created_at=NOW - timedelta(days=created),
            due_at=NOW + timedelta(days=due),
            value_cents=value * 100,
            paid_cents=value * 100 if name == "paid" else 0,
            status="Paid" if name == "paid" else "Opened",
        )
        names[name] = friendly_id
    return names


def test_invoices_are_newest_first_and_open_ones_due_soonest(app, store, four_invoices):
    ids = four_invoices
    console = signed_in(app, store)

    default = console.get("/admin/invoices").text
    assert invoice_rows(default) == [ids[n] for n in ("newest", "new", "paid", "mid", "old")]
    assert aria_sort(default)[0][0] == "descending" and "sort=created" in aria_sort(default)[0][1]

    opened = console.get("/admin/invoices?status=Opened").text
    assert invoice_rows(opened) == [ids[n] for n in ("mid", "new", "old", "newest")]
    assert aria_sort(opened)[0][0] == "ascending" and "sort=-due" in aria_sort(opened)[0][1]


def test_invoices_sort_on_two_columns_and_fall_back(app, store, four_invoices):
    ids = four_invoices
    console = signed_in(app, store)
    by_value = console.get("/admin/invoices?sort=value").text
    assert invoice_rows(by_value) == [ids[n] for n in ("newest", "old", "new", "mid", "paid")]
    assert invoice_rows(console.get("/admin/invoices?sort=-value").text) == [
        ids[n] for n in ("paid", "mid", "new", "old", "newest")
    ]
    assert invoice_rows(console.get("/admin/invoices?sort=-due&status=Opened").text) == [
        ids[n] for n in ("newest", "old", "new", "mid")
    ]
    assert invoice_rows(console.get("/admin/invoices?sort=due").text) == [
        ids[n] for n in ("paid", "mid", "new", "old", "newest")
    ]
    bogus = console.get("/admin/invoices", params={"sort": "value_cents desc; --", "status": "Opened"})
    assert bogus.status_code == 200
    assert invoice_rows(bogus.text) == [ids[n] for n in ("mid", "new", "old", "newest")]


def test_invoice_paging_keeps_the_sort_and_filters(app, store, four_invoices, monkeypatch):
    monkeypatch.setattr(invoices_pages, "PAGE_SIZES", (2, 20))
    ids = four_invoices
    console = signed_in(app, store)
    first = console.get("/admin/invoices?sort=-value&size=2&status=Opened").text
    assert invoice_rows(first) == [ids["mid"], ids["new"]]
    next_link = next_page(first)
    assert {"sort=-value", "status=Opened", "size=2", "page=2"} <= set(next_link.split("&"))
    assert invoice_rows(console.get(f"/admin/invoices?{next_link}").text) == [
        ids["old"],
        ids["newest"],
    ]


def test_long_observation_is_clipped_with_its_text_in_a_tooltip(app, store, database, four_invoices):
    text = "a long observation " * 20
    set_invoice(database, store, four_invoices["old"], observation=text)
    page = signed_in(app, store).get("/admin/invoices").text
    assert f'<td class="clip" title="{text}">{text}</td>' in page
