"""The Payments received page: the store's Payment ledger entries recorded between two days of
its calendar, newest first, with their count and total; the dashboard's "Paid this month" card
opens it from the first of the month and the two agree, reversals included. Other stores' entries
never show; a bad day is refused once, in the field's words; viewers read it too. On SQLite and
PostgreSQL (the database_url fixture)."""

import html
import re
from datetime import UTC, datetime
from decimal import Decimal

from tests.console.support import signed_in
from tests.helpers import configure, open_account, purchase

APRIL = datetime(2030, 4, 28, 10, 0, tzinfo=UTC)
MAY = datetime(2030, 5, 3, 9, 0, tzinfo=UTC)
LATER_IN_MAY = datetime(2030, 5, 10, 16, 0, tzinfo=UTC)


def money(text: str) -> Decimal:
    return Decimal(re.sub(r"[^\d.-]", "", text))


def figure(page: str, name: str) -> str:
    found = re.search(rf'data-(?:figure|summary)="{name}">([^<]*)<', page)
    assert found, f"no {name} on the page"
    return html.unescape(found.group(1))


def ok(response):
    assert response.status_code == 200, response.text
    return response


def test_the_paid_this_month_card_opens_the_payments_it_adds_up(app, store, api, other_api, frozen_clock):
    frozen_clock.set(APRIL)
    configure(api, postponementEnabled=True)
    account_id = open_account(api, credit_limit="1000")["id"]
    purchase(api, account_id, "300", installments=3)
    first, second, third = (
        invoice["id"] for invoice in api.get(f"/accounts/{account_id}/invoices").json()["data"]
    )
    ok(api.post(f"/accounts/{account_id}/invoices/{first}/payments"))  # 100, in April

    frozen_clock.set(MAY)
    ok(api.post(f"/accounts/{account_id}/invoices/{second}/payments", json={"value": "40"}))
    ok(api.post(f"/accounts/{account_id}/invoices/{third}/payments"))
    ok(api.put(f"/accounts/{account_id}/invoices/{first}", json={"status": "Opened"}))  # −100, a reversal
    elsewhere = open_account(other_api, credit_limit="500")["id"]
    purchase(other_api, elsewhere, "70")
    (theirs,) = other_api.get(f"/accounts/{elsewhere}/invoices").json()["data"]
    ok(other_api.post(f"/accounts/{elsewhere}/invoices/{theirs['id']}/payments"))

    frozen_clock.set(LATER_IN_MAY)
    console = signed_in(app, store, "viewer")  # reading is for every role
    dashboard = ok(console.get("/admin")).text
    card = money(figure(dashboard, "paid-month"))
    assert card == Decimal("40")  # 40 + 100 − 100, the other store's 70 not among them
    href = html.unescape(re.search(r'href="([^"]+)" data-card="paid-month"', dashboard).group(1))
    assert href == "/admin/payments?from=2030-05-01&to=2030-05-10"

    page = ok(console.get(href)).text
    assert money(figure(page, "total")) == card
    assert figure(page, "count") == "3"
    rows = re.findall(r'<tr data-entry="\d+"( class="reversal")?>(.*?)</tr>', page, flags=re.S)
    assert len(rows) == 3
    reversal, *payments = rows  # newest first: the reversal was recorded last
    assert reversal[0] and "-$100.00" in reversal[1] and f"{first}</a>" in reversal[1]
    assert all(not row[0] for row in payments)
    assert [f"{second}</a>" in payments[1][1], f"{third}</a>" in payments[0][1]] == [True, True]
    assert elsewhere not in page

    april = ok(console.get("/admin/payments?from=2030-04-01&to=2030-04-30")).text
    assert money(figure(april, "total")) == Decimal("100") and figure(april, "count") == "1"


def test_a_bad_period_is_refused_once_in_the_fields_words(app, store, frozen_clock):
    frozen_clock.set(LATER_IN_MAY)
    console = signed_in(app, store)
    bad = console.get("/admin/payments?from=2030-13-01")
    assert bad.status_code == 400
    assert bad.text.count("From: must be a date such as 2026-12-31") == 1
    assert "data-summary" not in bad.text  # no figures for a period that is not one
    backwards = console.get("/admin/payments?from=2030-05-10&to=2030-05-01")
    assert backwards.status_code == 400 and backwards.text.count("To: must not be before the first day") == 1
    too_long = console.get("/admin/payments?from=2028-01-01&to=2030-05-01")
    assert too_long.status_code == 400 and "at most 366 days" in too_long.text
    empty = ok(console.get("/admin/payments"))  # this month so far, by default
    assert 'value="2030-05-01"' in empty.text and 'value="2030-05-10"' in empty.text
    assert "No payment was recorded in this period." in empty.text
