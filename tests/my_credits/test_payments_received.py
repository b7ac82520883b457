"""My Credits lists the payments received on the account's invoices, partial ones and reversals
included, newest day first, with the day the money arrived and the payer's reference, and never
who recorded it; on SQLite and PostgreSQL (the database_url fixture)."""

import re
from datetime import UTC, date, datetime
from decimal import Decimal

from customer_credit.invoices import service as invoices
from customer_credit.my_credits.service import PAYMENTS_SHOWN
from tests.helpers import configure, open_account, purchase
from tests.my_credits.test_my_credits import customer_client, enter, link_for

BOUGHT = datetime(2031, 3, 1, 10, 0, tzinfo=UTC)
NOW = datetime(2031, 3, 20, 15, 0, tzinfo=UTC)


def page_of(app, store, account_id: str, email: str) -> str:
    client = customer_client(app)
    entered = enter(client, link_for(store, account_id, email, now=NOW))
    assert entered.status_code == 303, entered.text
    shown = client.get(entered.headers["location"])
    assert shown.status_code == 200, shown.text
    return shown.text


def pay(store, account_id: str, invoice_id: str, value: str, paid_on: date, reference: str | None):
    with store.database.write() as session:
        invoices.pay_invoice(
            session,
            store.principal(name="finance@shop.example"),
            account_id,
            invoice_id,
            value=Decimal(value),
            now=NOW,
            paid_on=paid_on,
            reference=reference,
        )


def received(html: str) -> list[str]:
    """The payment rows' text, in the page's order."""
    section = html.split('<ul class="invoices payments">', 1)[1].split("</ul>", 1)[0]
    return [
        " ".join(re.sub(r"<[^>]+>", " ", row.split(">", 1)[1]).split()) for row in section.split("<li ")[1:]
    ]


def bought(api, frozen_clock, email: str, value: str) -> tuple[str, dict]:
    """An account of `email` with one purchase of `value` made at BOUGHT (one invoice); the
    clock then moves to NOW. Returns (account id, invoice)."""
    frozen_clock.set(BOUGHT)
    configure(api, myCreditsEnabled=True)
    account_id = open_account(api, email=email, credit_limit="1000")["id"]
    purchase(api, account_id, value)
    (invoice,) = api.get(f"/accounts/{account_id}/invoices").json()["data"]
    frozen_clock.set(NOW)
    return account_id, invoice


def test_partial_payments_are_listed_newest_day_first_with_their_reference(app, store, api, frozen_clock):
    account_id, invoice = bought(api, frozen_clock, "rosa@example.com", "300")
    assert "Payments received" not in page_of(app, store, account_id, "rosa@example.com")

    pay(store, account_id, invoice["id"], "100", date(2031, 3, 5), "TRF-1")
    pay(store, account_id, invoice["id"], "50", date(2031, 3, 18), None)
    html = page_of(app, store, account_id, "rosa@example.com")
    rows = received(html)
    assert len(rows) == 2
    assert "$50.00" in rows[0] and "Received Mar 18, 2031" in rows[0] and "reference" not in rows[0]
    assert "$100.00" in rows[1] and "Received Mar 5, 2031" in rows[1] and "reference TRF-1" in rows[1]
    assert all(f"invoice {invoice['friendlyId']}" in row for row in rows)
    assert "finance@shop.example" not in html  # who recorded it is the store's business
    assert "$150.00 already paid" in html


def test_only_the_latest_payments_are_shown(app, store, api, frozen_clock):
    account_id, invoice = bought(api, frozen_clock, "lia@example.com", "500")
    for day in range(1, PAYMENTS_SHOWN + 3):
        pay(store, account_id, invoice["id"], "1", date(2031, 3, day), f"R{day}")
    rows = received(page_of(app, store, account_id, "lia@example.com"))
    assert len(rows) == PAYMENTS_SHOWN
    assert f"reference R{PAYMENTS_SHOWN + 2}" in rows[0] and "reference R3" in rows[-1]


def test_a_reversed_payment_shows_as_a_reversal(app, store, api, frozen_clock):
    account_id, invoice = bought(api, frozen_clock, "ivo@example.com", "80")
    assert api.post(f"/accounts/{account_id}/invoices/{invoice['id']}/payments").status_code == 200
    reopened = api.put(f"/accounts/{account_id}/invoices/{invoice['id']}", json={"status": "Opened"})
    assert reopened.status_code == 200, reopened.text
    rows = received(page_of(app, store, account_id, "ivo@example.com"))
    assert len(rows) == 2
    reversal = next(row for row in rows if "reversed" in row)
    assert "-$80.00" in reversal
    assert any("$80.00" in row and "reversed" not in row for row in rows)
