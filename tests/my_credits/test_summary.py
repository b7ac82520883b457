"""The top of My Credits (what the customer owes and what is due now, in the store's money,
locale and time zone), the paid history's order, the copy button and the favicon; on SQLite
and PostgreSQL, with a frozen clock."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from customer_credit.invoices.models import PAID, Invoice
from customer_credit.stores.models import StoreConfig
from tests.helpers import configure, open_account, purchase
from tests.my_credits.test_my_credits import customer_client, enter, link_for

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 23:00 on March 9 in São Paulo
PAY_LINK = "https://pay.example/a?x=1&y=2"


def _set(store, public_id: str, **values) -> None:
    with store.database.write() as session:
        session.execute(
            update(Invoice)
            .where(Invoice.store_id == store.id, Invoice.public_id == public_id)
            .values(**values)
        )


def _section(html: str, marker: str) -> str:
    return html.split(marker, 1)[1].split("</", 1)[0]


@pytest.mark.parametrize(
    ("locale", "currency", "zone", "owed", "due_now"),
    [
        # UTC: invoice A (due 12:00 UTC on March 10) is due today, so due now.
        ("en_US", "USD", "UTC", "$16,757.12", "$270.00"),
        # São Paulo: it is still March 9 there, A is due tomorrow; only the overdue B is due now.
        ("pt_BR", "BRL", "America/Sao_Paulo", "R$\xa016.757,12", "R$\xa0200,00"),
    ],
)
def test_the_summary_history_copy_button_and_favicon(
    app, store, api, frozen_clock, locale, currency, zone, owed, due_now
):
    frozen_clock.set(NOW)
    configure(api, myCreditsEnabled=True)
    with store.database.write() as session:
        session.execute(
            update(StoreConfig)
            .where(StoreConfig.store_id == store.id)
            .values(locale=locale, currency=currency, timezone=zone)
        )
    account_id = open_account(api, email="sum@example.com", credit_limit="50000")["id"]
    for value in ("100", "200", "16487.12", "800", "1600"):
        purchase(api, account_id, value)
    rows = {row["value"]: row for row in api.get(f"/accounts/{account_id}/invoices").json()["data"]}
    assert len(rows) == 5, rows
    by_value = {str(key).rstrip("0").rstrip("."): row for key, row in rows.items()}
    partly, overdue, future, paid_first, paid_earlier = (
        by_value["100"],
        by_value["200"],
        by_value["16487.12"],
        by_value["800"],
        by_value["1600"],
    )
    _set(
        store,
        partly["id"],
        paid_cents=3000,
        due_at=datetime(2026, 3, 10, 12, 0, tzinfo=UTC),
        payment_link=PAY_LINK,
    )
    _set(store, overdue["id"], due_at=NOW - timedelta(days=3))
    _set(store, future["id"], due_at=NOW + timedelta(days=10))
    # Created before the other paid invoice, but paid after it: the history shows it first.
    _set(store, paid_first["id"], status=PAID, paid_cents=80000, resolved_at=NOW - timedelta(days=2))
    _set(store, paid_earlier["id"], status=PAID, paid_cents=160000, resolved_at=NOW - timedelta(days=9))

    client = customer_client(app)
    enter(client, link_for(store, account_id, "sum@example.com", now=NOW))
    page = client.get("/my-credits")
    assert page.status_code == 200, page.text
    # Owed: 70.00 (100 less 30 paid) + 200.00 + 16,487.12; the paid invoices owe nothing.
    assert owed in _section(page.text, 'data-figure="owed">')
    assert due_now in _section(page.text, 'data-figure="due-now">')
    history = page.text.split('class="invoices paid"', 1)[1].split("</ul>", 1)[0]
    assert history.index(paid_first["friendlyId"]) < history.index(paid_earlier["friendlyId"])
    # The copy button carries the payment link (escaped in the attribute) and the page loads its script.
    assert 'data-copy="https://pay.example/a?x=1&amp;y=2"' in page.text
    assert page.text.count("data-copy=") == 1
    assert 'src="/my-credits/static/copy.js"' in page.text and "<script>" not in page.text
    script = client.get("/my-credits/static/copy.js")
    assert script.status_code == 200 and "data-copy" in script.text
    icon = re.search(r'<link rel="icon"[^>]* href="([^"]+)"', page.text)
    assert icon, "no favicon link"
    favicon = client.get(icon.group(1))
    assert favicon.status_code == 200
    assert favicon.headers["content-type"].startswith("image/svg+xml") and "<svg" in favicon.text
