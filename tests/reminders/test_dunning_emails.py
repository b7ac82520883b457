"""Dunning levels' e-mails against a real SMTP server with a frozen worker clock: each level is a
step after the due date with its own template (or the store's overdue one), sent once per
invoice and step even when the worker runs again, naming the level and the late fee charged at
that step; a store's own daysAfter entry for the same day keeps its time of day."""

from datetime import datetime, time, timedelta

from tests.events.support import run_worker
from tests.reminders.test_reminders import (
    FIRST_DUE_DAY,
    SAO_PAULO,
    bill,
    customer,
    send_time,
    setup_store,
    texts,
)

LEVELS = [
    {
        "days": 3,
        "name": "Friendly",
        "timeOfDay": "08:30",
        "subject": "{{ dunning_level }}: {{ friendly_id }} is {{ days_overdue }} days late",
        "textBody": "Please pay {{ amount_due }}.{% if late_fee %} Fee: {{ late_fee }}.{% endif %}",
        "lateFee": {"fixed": "7.50"},
    },
    {"days": 10, "name": "Firm", "lateFee": {"fixed": "12"}},
]


def levels_set_before_the_due_date(api, frozen_clock, levels) -> None:
    # A fee is charged only for a step reached after it was set: set them well before.
    frozen_clock.set(datetime.combine(FIRST_DUE_DAY - timedelta(days=60), time(12), tzinfo=SAO_PAULO))
    assert api.put("/dunninglevels", json={"levels": levels}).status_code == 200


def test_each_level_sends_its_own_email_once_with_its_fee(api, database, store, mailbox, frozen_clock):
    setup_store(api, database, store, prior=(), after=())
    levels_set_before_the_due_date(api, frozen_clock, LEVELS)
    assert api.put("/dunninglevels", json={"levels": LEVELS}).status_code == 200
    account_id, email, _holder = customer(api, holder=False)
    [invoice] = bill(api, database, store, account_id, "100")

    friendly = send_time(invoice, 3, "08:30:00", "after")
    run_worker(database, friendly - timedelta(minutes=1))
    assert mailbox.to(email) == []
    run_worker(database, friendly + timedelta(minutes=1))
    run_worker(database, friendly + timedelta(hours=3))
    [first] = mailbox.to(email)
    assert first["Subject"] == f"Friendly: {invoice['friendlyId']} is 3 days late"
    plain = first.get_body(preferencelist=("plain",)).get_content().replace("\xa0", " ")
    assert "Please pay R$ 100,00." in plain and "Fee: R$ 7,50." in plain

    firm = send_time(invoice, 10, "09:00:00", "after")
    run_worker(database, firm + timedelta(minutes=1))
    run_worker(database, firm + timedelta(days=1))
    sent = mailbox.to(email)
    assert len(sent) == 2
    # No template of its own: the store's overdue reminder, which names the fee.
    firm_plain, firm_html = texts(sent[1])
    assert "vencida há 10 dias" in firm_plain  # the store is pt_BR: its language
    assert "Uma multa de R$ 12,00 foi cobrada" in firm_plain.replace("\xa0", " ")
    assert "R$ 12,00" in firm_html.replace("\xa0", " ")

    log = api.get("/reminders").json()["data"]
    steps = sorted(entry["trigger"]["days"] for entry in log if entry["invoiceId"] == invoice["id"])
    assert steps == [3, 10]


def test_the_store_schedule_keeps_its_time_for_the_same_day(api, database, store, mailbox, frozen_clock):
    setup_store(api, database, store, prior=(), after=({"days": 3, "timeOfDay": "14:00:00"},))
    levels_set_before_the_due_date(api, frozen_clock, LEVELS[:1])
    account_id, email, _holder = customer(api, holder=False)
    [invoice] = bill(api, database, store, account_id, "100")
    run_worker(database, send_time(invoice, 3, "08:31:00", "after"))
    assert mailbox.to(email) == []
    run_worker(database, send_time(invoice, 3, "14:01:00", "after"))
    [message] = mailbox.to(email)
    # The level's template still words the step.
    assert message["Subject"].startswith("Friendly: ")
