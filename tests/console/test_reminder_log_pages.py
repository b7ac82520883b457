"""The reminder log page, on SQLite and PostgreSQL: the rows reminders.service's log has (the
CLI's `reminders log`), newest first, filtered by status, paged, only the store's own; a
viewer reads it too. The rows are written as the reminder worker writes them."""

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from customer_credit.invoices.models import Invoice
from customer_credit.reminders import service as reminders
from customer_credit.reminders.models import AFTER, FAILED, PENDING, PRIOR, SENT, Reminder
from tests.console.support import signed_in
from tests.helpers import open_account, purchase

NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)


def add_reminders(database, store, api, statuses: list[str]) -> list[int]:
    """One reminder per status, a day apart, the first the oldest; returns their ids."""
    account_id = open_account(api)["id"]
    purchase(api, account_id, "30")
    ids = []
    with database.write() as session:
        invoice = session.scalars(select(Invoice).where(Invoice.store_id == store.id)).first()
        for number, status in enumerate(statuses):
            reminder = Reminder(
                store_id=store.id,
                account_id=invoice.account_id,
                invoice_id=invoice.id,
                kind=PRIOR if number % 2 == 0 else AFTER,
                days=number + 1,
                due_at=invoice.due_at,
                scheduled_at=NOW - timedelta(days=len(statuses) - number),
                status=status,
                attempts=3 if status == FAILED else 1,
                recipients=[f"buyer-{number}@example.com"],
                last_error="550 no such mailbox" if status == FAILED else None,
                sent_at=NOW if status == SENT else None,
            )
            session.add(reminder)
            session.flush()
            ids.append(reminder.id)
    return ids


def shown_ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'data-reminder="(\d+)"', html)]


def test_the_log_is_newest_first_filtered_and_paged(app, store, api, database, frozen_clock):
    frozen_clock.set(NOW)
    statuses = [SENT, FAILED, PENDING] * 10
    ids = add_reminders(database, store, api, statuses)
    console = signed_in(app, store)

    page = console.get("/admin/reminders")
    assert page.status_code == 200
    assert "30 reminders" in page.text
    assert shown_ids(page.text) == ids[::-1][:25]
    with database.read() as session:
        logged = [reminder.id for reminder, _invoice in reminders.reminder_log(session, store.id, limit=25)]
    assert shown_ids(page.text) == logged
    assert "Page 1 of 2" in page.text and "page=2" in page.text
    assert shown_ids(console.get("/admin/reminders", params={"page": "2"}).text) == ids[::-1][25:]

    failed = console.get("/admin/reminders", params={"status": FAILED}).text
    failed_ids = [reminder_id for reminder_id, status in zip(ids, statuses, strict=True) if status == FAILED]
    assert shown_ids(failed) == failed_ids[::-1]
    assert "10 reminders" in failed and "550 no such mailbox" in failed
    assert re.search(r'data-status="failed"', failed) and 'data-status="sent"' not in failed
    assert "buyer-1@example.com" in failed
    # An unknown status is ignored (all rows), never an error.
    assert "30 reminders" in console.get("/admin/reminders", params={"status": "exploded"}).text


def test_only_the_stores_own_reminders_and_a_viewer_reads_them(app, store, api, database, http, frozen_clock):
    from tests.conftest import Store

    frozen_clock.set(NOW)
    other = Store(database, http)
    theirs = add_reminders(database, other, other.api(), [SENT])
    mine = add_reminders(database, store, api, [PENDING, SENT])

    viewer = signed_in(app, store, "viewer")
    page = viewer.get("/admin/reminders")
    assert page.status_code == 200
    assert shown_ids(page.text) == mine[::-1]
    assert not set(theirs) & set(shown_ids(page.text))
    assert "2 reminders" in page.text
    assert viewer.post("/admin/reminders").status_code == 405  # nothing to change here


def test_an_empty_log(app, store, frozen_clock):
    frozen_clock.set(NOW)
    page = signed_in(app, store).get("/admin/reminders")
    assert page.status_code == 200 and "No reminder matches." in page.text and "0 reminders" in page.text
