"""The invoice page's payment timeline and its "Mark as paid" form with a payment date and a
reference, on SQLite and PostgreSQL, with a frozen clock: what the form records is what the
timeline shows (and the API's figures agree); a viewer reads it but cannot post; a refused date
or reference is one inline error by its field, worded with the field's label."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import update

from customer_credit.invoices.models import Invoice
from tests.console.support import Console, make_operator, signed_in
from tests.helpers import configure, dec, open_account, purchase

NOW = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock(frozen_clock):
    frozen_clock.set(NOW)
    return frozen_clock


def an_invoice(api, value="100") -> tuple[str, dict, str]:
    account_id = open_account(api, credit_limit="1000")["id"]
    purchase(api, account_id, value)
    (invoice,) = api.get(f"/accounts/{account_id}/invoices").json()["data"]
    return account_id, invoice, f"/admin/accounts/{account_id}/invoices/{invoice['id']}"


def admin(app, store) -> tuple[Console, str]:
    email = make_operator(store, "admin")
    console = Console(app)
    assert console.sign_in(email).status_code == 303
    return console, email


def timeline_rows(html: str) -> list[list[str]]:
    """The cells of each row of the Payments table, as text."""
    table = re.search(r'<table class="data" id="payment-timeline">(.*?)</table>', html, re.S)
    assert table, "no payment timeline on the page"
    rows = re.findall(r"<tr data-payment=[^>]*>(.*?)</tr>", table.group(1), re.S)
    return [
        [
            unescape(re.sub(r"<[^>]+>", "", cell)).replace("\xa0", " ").replace("\u202f", " ").strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in rows
    ]


def field_errors(html: str) -> list[tuple[str, str]]:
    """(id, text) of each inline error."""
    found = re.findall(r'<p class="field-error" id="([^"]+)">([^<]*)</p>', html)
    return [(note, unescape(text)) for note, text in found]


def test_a_payment_with_its_date_and_reference_shows_in_the_timeline(app, store, api, database, clock):
    configure(api, dailyInterestRate="0.01")
    account_id, invoice, page = an_invoice(api, "100")
    with database.write() as session:
        session.execute(
            update(Invoice).where(Invoice.public_id == invoice["id"]).values(due_at=NOW - timedelta(hours=1))
        )
    console, email = admin(app, store)
    form = console.get(page).text
    assert 'name="paidOn" type="date" value="2026-06-10"' in form  # today in the store's zone
    assert 'id="payments-title"' not in form  # nothing paid yet: no timeline

    clock.set(NOW + timedelta(days=3))
    paid = console.post(f"{page}/pay", {"value": "40", "paidOn": "2026-06-12", "payReference": " PIX-778 "})
    assert paid.status_code == 303, paid.text
    assert dec(api.get(f"/accounts/{account_id}/invoices/{invoice['id']}").json()["creditValue"]) == 40
    assert console.post(f"{page}/pay", {"paidOn": ""}).status_code == 303  # the rest, received today
    assert console.post(f"{page}/reopen").status_code == 303

    rows = timeline_rows(console.get(page).text)
    # Received, amount, method, reference, recorded by, interest due (2 days then 3 days × 1%), recorded.
    assert [row[:6] for row in rows] == [
        ["Jun 12, 2026", "$40.00", "Console", "PIX-778", email, "$2.00"],
        ["Jun 13, 2026", "$60.00", "Console", "—", email, "$1.80"],
        ["Jun 13, 2026", "-$100.00 Reversal", "Console", "—", email, "—"],
    ]
    assert {row[6] for row in rows} == {"Jun 13, 2026, 3:00:00 PM"}


def test_a_viewer_sees_the_timeline_but_cannot_pay(app, store, api, clock):
    account_id, invoice, page = an_invoice(api, "100")
    assert (
        api.post(
            f"/accounts/{account_id}/invoices/{invoice['id']}/payments", json={"value": "10"}
        ).status_code
        == 200
    )
    viewer = signed_in(app, store, "viewer")
    shown = viewer.get(page).text
    assert timeline_rows(shown)[0][1:3] == ["$10.00", "API"]
    assert 'name="paidOn"' not in shown
    refused = viewer.post(f"{page}/pay", {"value": "5", "paidOn": "2026-06-10", "payReference": "R1"})
    assert refused.status_code == 403
    assert dec(api.get(f"/accounts/{account_id}/invoices/{invoice['id']}").json()["creditValue"]) == 10
    assert len(timeline_rows(viewer.get(page).text)) == 1


@pytest.mark.parametrize(
    ("sent", "field", "error"),
    [
        ({"paidOn": "2026-06-11"}, "paidOn", "Payment date: must not be after today (2026-06-10)"),
        ({"paidOn": "10/06/2026"}, "paidOn", "Payment date: must be a date (YYYY-MM-DD)"),
        (
            {"paidOn": "2026-06-09"},
            "paidOn",
            "Payment date: must not be before the invoice was created (2026-06-10)",
        ),
        ({"payReference": "x" * 201}, "payReference", "Reference: must be at most 200 characters"),
    ],
)
def test_a_refused_date_or_reference_is_one_error_by_its_field(app, store, api, clock, sent, field, error):
    account_id, invoice, page = an_invoice(api, "100")
    console = signed_in(app, store)
    refused = console.post(f"{page}/pay", {"value": "10", **sent})
    assert refused.status_code == 400
    assert field_errors(refused.text) == [(f"{field}-note", error)]
    assert (
        f'name="{field}" type="{"date" if field == "paidOn" else "text"}" value="{sent[field]}"'
        in refused.text
    )
    assert dec(api.get(f"/accounts/{account_id}/invoices/{invoice['id']}").json()["creditValue"]) == 0
