"""Days overdue have one definition: calendar days in the store's time zone from the due date to
today (due Dec 1, seen Dec 3: 2 days, whatever the hour). Checked with a frozen, injected clock
at several times of day, just before and just after local midnight, in a zone west of UTC
(São Paulo, UTC−3) and one east of it (Tokyo, UTC+9): through the rule itself, the API's
daysOverdue and interest, the overdue e-mail, the console and the CSV export."""

import csv
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from customer_credit.accounts.models import Account
from customer_credit.invoices.models import Invoice
from customer_credit.invoices.overdue_days import days_overdue, days_until_due
from customer_credit.reminders.models import AFTER, Reminder
from customer_credit.reminders.sender import compose
from customer_credit.stores.models import StoreConfig
from customer_credit.users import service as users
from tests.console.support import signed_in
from tests.helpers import configure, dec, open_account, purchase

SAO_PAULO = "America/Sao_Paulo"
TOKYO = "Asia/Tokyo"

# (zone, due date and time there, the frozen "now" there, days overdue). The comments say why
# the old definitions were wrong: whole 24-hour periods ("24h"), or calendar days in UTC.
CASES = [
    (SAO_PAULO, "2026-12-01T15:00", "2026-12-01T14:00", 0),  # not due yet
    (SAO_PAULO, "2026-12-01T00:01", "2026-12-01T23:59", 0),  # past due, but still the due day
    (SAO_PAULO, "2026-12-01T15:00", "2026-12-02T23:59:59", 1),  # just before midnight
    (SAO_PAULO, "2026-12-01T15:00", "2026-12-03T00:00:01", 2),  # just after midnight (24h: 1)
    (SAO_PAULO, "2026-12-01T15:00", "2026-12-03T14:59", 2),  # (24h: 1)
    (SAO_PAULO, "2026-12-01T23:59", "2026-12-02T00:01", 1),  # two minutes later (24h: 0)
    (SAO_PAULO, "2026-12-01T20:00", "2026-12-02T22:00", 1),  # (UTC days: 2)
    (TOKYO, "2026-12-01T00:30", "2026-12-01T23:30", 0),  # (UTC days: 1)
    (TOKYO, "2026-12-01T23:30", "2026-12-02T00:30", 1),  # just after midnight (24h and UTC: 0)
    (TOKYO, "2026-12-01T10:00", "2026-12-03T08:00", 2),  # (24h and UTC days: 1)
    (TOKYO, "2026-12-01T08:00", "2026-12-02T23:59:59", 1),  # just before midnight
]
CASE_IDS = [f"{zone.split('/')[1]}-due{due[5:]}-now{now[5:]}" for zone, due, now, _ in CASES]


def local(zone: str, text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def overdue_invoice(api, database, store, zone: str, due_at: datetime) -> tuple[str, str]:
    """A 100.00 invoice due at `due_at`, in a store of `zone` charging 1% a day."""
    configure(api, dailyInterestRate="0.01")
    with database.write() as session:
        session.get(StoreConfig, store.id).timezone = zone
    account_id = open_account(api, credit_limit="500")["id"]
    purchase(api, account_id, "100")
    (invoice,) = api.get(f"/accounts/{account_id}/invoices").json()["data"]
    with database.write() as session:
        session.execute(
            update(Invoice)
            .where(Invoice.store_id == store.id, Invoice.public_id == invoice["id"])
            .values(due_at=due_at, original_due_at=due_at)
        )
    return account_id, invoice["id"]


# --- the rule ----------------------------------------------------------------------------


@pytest.mark.parametrize(("zone", "due", "now", "days"), CASES, ids=CASE_IDS)
def test_days_overdue_are_calendar_days_in_the_store_zone(zone, due, now, days):
    assert days_overdue(local(zone, due), local(zone, now), ZoneInfo(zone)) == days
    # The same moments written in UTC: only the zone decides.
    utc = ZoneInfo("UTC")
    assert (
        days_overdue(local(zone, due).astimezone(utc), local(zone, now).astimezone(utc), ZoneInfo(zone))
        == days
    )


def test_a_day_of_25_hours_is_still_one_day():
    new_york = ZoneInfo("America/New_York")  # clocks go back on 2026-11-01
    due = datetime(2026, 11, 1, 0, 30, tzinfo=new_york)
    assert days_overdue(due, datetime(2026, 11, 1, 23, 59, tzinfo=new_york), new_york) == 0
    assert days_overdue(due, datetime(2026, 11, 2, 0, 1, tzinfo=new_york), new_york) == 1


def test_days_until_due_mirror_days_overdue():
    zone = ZoneInfo(TOKYO)
    due = local(TOKYO, "2026-12-04T00:30")
    assert days_until_due(due, local(TOKYO, "2026-12-01T23:59"), zone) == 3
    assert days_until_due(due, local(TOKYO, "2026-12-04T00:10"), zone) == 0
    assert days_until_due(due, local(TOKYO, "2026-12-06T09:00"), zone) == 0


# --- the API -----------------------------------------------------------------------------


@pytest.mark.parametrize(("zone", "due", "now", "days"), CASES, ids=CASE_IDS)
def test_the_api_reports_days_overdue_and_interest_by_the_store_calendar(
    api, database, store, frozen_clock, zone, due, now, days
):
    account_id, invoice_id = overdue_invoice(api, database, store, zone, local(zone, due))
    frozen_clock.set(local(zone, now))
    invoice = api.get(f"/accounts/{account_id}/invoices/{invoice_id}").json()
    assert invoice["daysOverdue"] == days
    assert dec(invoice["interest"]) == days * dec("1.00")  # 100.00 × 1% a day
    assert dec(invoice["value"]) == dec("100")
    (listed,) = api.get(f"/accounts/{account_id}/invoices").json()["data"]
    assert (listed["daysOverdue"], dec(listed["interest"])) == (days, days * dec("1.00"))


def test_the_api_answer_follows_the_injected_clock_across_midnight(api, database, store, frozen_clock):
    account_id, invoice_id = overdue_invoice(api, database, store, TOKYO, local(TOKYO, "2026-12-01T18:00"))
    seen = []
    for now in ("2026-12-01T23:59:59", "2026-12-02T00:00:00", "2026-12-02T23:59:59", "2026-12-03T00:00:00"):
        frozen_clock.set(local(TOKYO, now))
        seen.append(api.get(f"/accounts/{account_id}/invoices/{invoice_id}").json()["daysOverdue"])
    assert seen == [0, 1, 1, 2]


# --- the e-mail --------------------------------------------------------------------------


@pytest.mark.parametrize(("zone", "due", "now", "days"), CASES, ids=CASE_IDS)
def test_the_overdue_email_says_the_same_days_and_interest(api, database, store, zone, due, now, days):
    account_id, invoice_id = overdue_invoice(api, database, store, zone, local(zone, due))
    with database.read() as session:
        invoice = session.scalar(
            select(Invoice).where(Invoice.store_id == store.id, Invoice.public_id == invoice_id)
        )
        account = session.get(Account, invoice.account_id)
        message = compose(session, Reminder(kind=AFTER, days=2), invoice, account, local(zone, now))
    assert f"is {days} day{'' if days == 1 else 's'} overdue" in message.text
    assert f"Late interest: ${days}.00" in message.text
    assert f"Total to pay: ${100 + days}.00" in message.text


# --- the console and the CSV export --------------------------------------------------------


@pytest.fixture(scope="module")
def cheap_password_hashes():
    users.configure_hasher(time_cost=1, memory_kib=1024)
    yield
    users.configure_hasher()


def test_the_console_and_the_csv_export_agree_with_the_api(
    app, api, database, store, frozen_clock, cheap_password_hashes
):
    due = local(SAO_PAULO, "2026-12-01T15:00")
    account_id, invoice_id = overdue_invoice(api, database, store, SAO_PAULO, due)
    friendly_id = api.get(f"/accounts/{account_id}/invoices/{invoice_id}").json()["friendlyId"]
    console = signed_in(app, store)
    page_url = f"/admin/accounts/{account_id}/invoices/{invoice_id}"
    moments = (
        ("2026-12-01T14:59", 0, False),
        ("2026-12-01T15:01", 0, True),
        ("2026-12-02T23:59", 1, True),
        ("2026-12-03T00:01", 2, True),
    )
    for now, days, expired in moments:
        frozen_clock.set(local(SAO_PAULO, now))
        assert api.get(f"/accounts/{account_id}/invoices/{invoice_id}").json()["daysOverdue"] == days
        page = console.get(page_url).text
        assert re.search(r'data-figure="interest">\$([\d.]+)<', page).group(1) == f"{days}.00"
        said = re.findall(r"(\d+) days? overdue", page)
        assert said == ([str(days)] if days else [])
        exported = console.get(f"/admin/export/invoices.csv?creditAccountId={account_id}")
        (row,) = csv.DictReader(io.StringIO(exported.text))
        assert (int(row["daysOverdue"]), dec(row["interest"])) == (days, days * dec("1.00"))
        # "Expired" is the due moment passed (even on the due day, with 0 days overdue).
        listed = console.get(f"/admin/invoices?status=Expired&creditAccountId={account_id}").text
        assert (f">{friendly_id}</a>" in listed) == expired
