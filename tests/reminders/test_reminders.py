"""Due-date reminders against a real SMTP server (aiosmtpd on 127.0.0.1) with a frozen
clock and invoices due on fixed dates (nothing depends on the wall clock): the right e-mails on
the right days, once, to the account and its holders, in the
store's locale, currency and time zone; not for paid or postponed invoices; retried when the
server refuses (a 5xx is failed at once); never twice, even with two workers at once or a
worker killed mid-send."""

import threading
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from sqlalchemy import update

from customer_credit.invoices.models import Invoice
from customer_credit.jobs.registry import default_jobs
from customer_credit.jobs.worker import Worker
from customer_credit.reminders import mail
from customer_credit.stores.models import StoreConfig
from tests.events.support import run_worker
from tests.helpers import configure, open_account, purchase

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
FIRST_DUE_DAY = date(2026, 12, 1)
# Times of day of the due moment, in São Paulo: around the triggers' 09:00 and 10:00 and
# next to midnight on both sides.
DUE_TIMES = ["00:05", "09:59", "10:30", "15:00", "23:55"]


def setup_store(
    api,
    database,
    store,
    *,
    prior=({"days": 3, "timeOfDay": "09:00:00"},),
    after=({"days": 2, "timeOfDay": "10:00:00"},),
    **config,
):
    configure(
        api,
        dailyInterestRate="0.001",
        notificationsSettings={"daysPrior": list(prior), "daysAfter": list(after)},
        **config,
    )
    with database.write() as session:
        row = session.get(StoreConfig, store.id)
        row.timezone, row.locale, row.currency = "America/Sao_Paulo", "pt_BR", "BRL"
        row.payment_instructions = "PIX: chave <loja@example.com>"


def customer(api, *, holder=True) -> tuple[str, str, str | None]:
    opened = open_account(api, credit_limit="5000")
    holder_email = None
    if holder:
        holder_email = f"holder-{opened['id'].lower()}@example.com"
        added = api.post(f"/accounts/{opened['id']}/holders", json={"claims": {"email": holder_email}})
        assert added.status_code == 200, added.text
    return opened["id"], opened["email"], holder_email


def invoices(api, account_id) -> list[dict]:
    return api.get(f"/accounts/{account_id}/invoices").json()["data"]


def bill(api, database, store, account_id, value, *, installments=1, due_time="15:00") -> list[dict]:
    """A settled purchase whose invoices fall due on fixed dates: the first on FIRST_DUE_DAY at
    `due_time` in São Paulo, the next ones 30 days apart, all issued 60 days before the first."""
    purchase(api, account_id, value, installments=installments)
    first_due = datetime.combine(FIRST_DUE_DAY, time.fromisoformat(due_time), tzinfo=SAO_PAULO)
    with database.write() as session:
        for number, invoice in enumerate(invoices(api, account_id)):
            due = first_due + timedelta(days=30 * number)
            session.execute(
                update(Invoice)
                .where(Invoice.store_id == store.id, Invoice.public_id == invoice["id"])
                .values(due_at=due, original_due_at=due, created_at=first_due - timedelta(days=60))
            )
    return invoices(api, account_id)


def due_of(invoice: dict) -> datetime:
    return datetime.fromisoformat(invoice["dueDate"].replace("Z", "+00:00"))


def send_time(invoice: dict, days: int, at: str, kind: str) -> datetime:
    """`days` before/after the due date, at `at` in São Paulo (what the store configured)."""
    due_day = due_of(invoice).astimezone(SAO_PAULO).date()
    day = due_day - timedelta(days=days) if kind == "prior" else due_day + timedelta(days=days)
    return datetime.combine(day, time.fromisoformat(at), tzinfo=SAO_PAULO).astimezone(UTC)


def texts(message) -> tuple[str, str]:
    return (
        message.get_body(preferencelist=("plain",)).get_content(),
        message.get_body(preferencelist=("html",)).get_content(),
    )


@pytest.mark.parametrize("due_time", DUE_TIMES)
def test_the_right_emails_on_the_right_days_once(api, database, store, mailbox, due_time):
    setup_store(api, database, store)
    account_id, email, holder = customer(api)
    first, second = bill(api, database, store, account_id, "200", installments=2, due_time=due_time)
    prior = send_time(first, 3, "09:00:00", "prior")

    run_worker(database, prior - timedelta(minutes=1))
    assert mailbox.to(email) == []
    run_worker(database, prior + timedelta(minutes=1))
    run_worker(database, prior + timedelta(hours=5))
    sent = mailbox.to(email)
    assert len(sent) == 1
    message = sent[0]
    assert message["To"] == email and message["Cc"] == holder
    assert len(mailbox.to(holder)) == 1
    assert message["From"] == "Credit Desk <credit@store.example>"
    assert first["friendlyId"] in message["Subject"] and "R$" in message["Subject"]
    plain, html = texts(message)
    assert "100,00" in plain and "R$" in plain  # BRL in pt_BR: comma decimals
    long_date = format_date(due_of(first).astimezone(SAO_PAULO).date(), format="long", locale="pt_BR")
    assert long_date in plain and "de" in long_date
    assert "daqui a 3 dias" in plain  # the default e-mail in the store's language (pt_BR)
    assert "PIX: chave <loja@example.com>" in plain
    assert "PIX: chave &lt;loja@example.com&gt;" in html  # escaped in HTML

    after = send_time(first, 2, "10:00:00", "after")
    run_worker(database, after - timedelta(minutes=1))
    assert len(mailbox.to(email)) == 1
    run_worker(database, after + timedelta(minutes=1))
    run_worker(database, after + timedelta(days=1))
    sent = mailbox.to(email)
    assert len(sent) == 2
    overdue_plain, _ = texts(sent[1])
    assert "vencida há 2 dias" in overdue_plain
    # 100.00 owed × 0.001 a day × 2 days = 0.20 of interest; 100.20 to pay.
    assert "R$ 0,20" in overdue_plain.replace("\xa0", " ")
    assert "R$ 100,20" in overdue_plain.replace("\xa0", " ")
    # The second installment's turn comes 30 days later, once.
    second_prior = send_time(second, 3, "09:00:00", "prior")
    run_worker(database, second_prior + timedelta(minutes=1))
    run_worker(database, second_prior + timedelta(minutes=2))
    sent = mailbox.to(email)
    assert len(sent) == 3 and second["friendlyId"] in sent[2]["Subject"]

    log = api.get("/reminders").json()["data"]
    mine = [entry for entry in log if entry["invoiceId"] in (first["id"], second["id"])]
    assert sorted(
        (entry["invoiceId"], entry["trigger"]["kind"], entry["status"]) for entry in mine
    ) == sorted(
        [(first["id"], "prior", "sent"), (first["id"], "after", "sent"), (second["id"], "prior", "sent")]
    )
    assert all(entry["recipients"] == [email, holder] for entry in mine)


def test_no_reminder_for_an_invoice_paid_before_or_after_it_was_claimed(api, database, store, mailbox):
    setup_store(api, database, store)
    paid_early, early_email, _ = customer(api, holder=False)
    paid_late, late_email, _ = customer(api, holder=False)
    (early,) = bill(api, database, store, paid_early, "50")
    (late,) = bill(api, database, store, paid_late, "50")
    assert api.post(f"/accounts/{paid_early}/invoices/{early['id']}/payments").status_code == 200
    moment = send_time(late, 3, "09:00:00", "prior") + timedelta(minutes=1)

    run_worker(database, moment, names=("reminders-schedule",))  # claimed, not yet sent
    assert api.post(f"/accounts/{paid_late}/invoices/{late['id']}/payments").status_code == 200
    run_worker(database, moment)
    run_worker(database, send_time(late, 2, "10:00:00", "after") + timedelta(minutes=1))
    assert mailbox.to(early_email) == [] and mailbox.to(late_email) == []
    statuses = {entry["invoiceId"]: entry["status"] for entry in api.get("/reminders").json()["data"]}
    assert statuses[late["id"]] == "obsolete"
    assert early["id"] not in statuses


def test_a_postponement_moves_the_reminders(api, database, store, mailbox):
    setup_store(
        api, database, store, postponementEnabled=True, invoicePostponementLimit=2, maxPostponementDays=30
    )
    account_id, email, _ = customer(api, holder=False)
    (before,) = bill(api, database, store, account_id, "80")
    postponed = api.put(f"/accounts/{account_id}/invoices/{before['id']}/postponement", json={"dueDays": 5})
    assert postponed.status_code == 200, postponed.text
    (after,) = invoices(api, account_id)
    assert due_of(after) - due_of(before) == timedelta(days=5)

    run_worker(database, send_time(before, 3, "09:00:00", "prior") + timedelta(minutes=1))
    assert mailbox.to(email) == []
    run_worker(database, send_time(after, 3, "09:00:00", "prior") + timedelta(minutes=1))
    sent = mailbox.to(email)
    assert len(sent) == 1
    new_date = format_date(due_of(after).astimezone(SAO_PAULO).date(), format="long", locale="pt_BR")
    assert new_date in texts(sent[0])[0]


def test_a_refused_send_is_retried_with_backoff_and_logged(api, database, store, mailbox):
    setup_store(api, database, store)
    account_id, email, _ = customer(api, holder=False)
    (invoice,) = bill(api, database, store, account_id, "60")
    moment = send_time(invoice, 3, "09:00:00", "prior") + timedelta(minutes=1)
    mailbox.refuse[email] = 2

    run_worker(database, moment)
    assert mailbox.to(email) == [] and len([r for r in mailbox.refused if email in r]) == 1
    (entry,) = [e for e in api.get("/reminders").json()["data"] if e["invoiceId"] == invoice["id"]]
    assert entry["status"] == "pending" and entry["attempts"] == 1 and "451" in entry["lastError"]

    run_worker(database, moment + timedelta(seconds=30))  # the first backoff is 60 s
    assert len([r for r in mailbox.refused if email in r]) == 1
    run_worker(database, moment + timedelta(seconds=61))
    assert len([r for r in mailbox.refused if email in r]) == 2
    run_worker(database, moment + timedelta(seconds=61 + 119))  # then 120 s
    assert mailbox.to(email) == []
    run_worker(database, moment + timedelta(seconds=61 + 121))
    run_worker(database, moment + timedelta(hours=2))
    assert len(mailbox.to(email)) == 1
    (entry,) = [e for e in api.get("/reminders").json()["data"] if e["invoiceId"] == invoice["id"]]
    assert entry["status"] == "sent" and entry["attempts"] == 3 and entry["lastError"] is None


def test_a_permanent_refusal_is_logged_as_failed_and_not_retried(api, database, store, mailbox):
    setup_store(api, database, store)
    account_id, email, _ = customer(api, holder=False)
    (invoice,) = bill(api, database, store, account_id, "60")
    moment = send_time(invoice, 3, "09:00:00", "prior") + timedelta(minutes=1)
    mailbox.unknown.add(email)
    for later in (timedelta(0), timedelta(minutes=5), timedelta(hours=3)):
        run_worker(database, moment + later)
    assert len([r for r in mailbox.refused if email in r]) == 1 and mailbox.to(email) == []
    (entry,) = [e for e in api.get("/reminders").json()["data"] if e["invoiceId"] == invoice["id"]]
    assert entry["status"] == "failed" and entry["attempts"] == 1 and "550" in entry["lastError"]


def test_a_worker_killed_while_sending_never_sends_twice(api, database, store, mailbox, monkeypatch):
    setup_store(api, database, store)
    account_id, email, _ = customer(api, holder=False)
    (invoice,) = bill(api, database, store, account_id, "60")
    moment = send_time(invoice, 3, "09:00:00", "prior") + timedelta(minutes=1)

    def killed(self, message, stem):
        raise RuntimeError("worker killed mid-send")

    monkeypatch.setattr(mail.SmtpSender, "send", killed)
    run_worker(database, moment)  # the job dies after its claim committed
    monkeypatch.undo()
    for later in (timedelta(seconds=30), timedelta(minutes=10), timedelta(hours=2)):
        run_worker(database, moment + later)
    assert mailbox.to(email) == []
    (entry,) = [e for e in api.get("/reminders").json()["data"] if e["invoiceId"] == invoice["id"]]
    assert entry["status"] == "abandoned" and entry["attempts"] == 1


def test_two_workers_at_once_send_each_reminder_once(api, database, store, mailbox):
    setup_store(api, database, store)
    customers = [customer(api, holder=False) for _ in range(6)]
    for account_id, _email, _ in customers:
        bill(api, database, store, account_id, "30")
    moments = [send_time(invoices(api, a)[0], 3, "09:00:00", "prior") for a, _, _ in customers]
    assert len(set(moments)) == 1  # all due at the same moment
    moment = moments[0] + timedelta(minutes=1)

    workers = [Worker(database, jobs=default_jobs(1.0), clock=lambda: moment) for _ in range(2)]
    threads = [threading.Thread(target=worker.run_once) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    run_worker(database, moment + timedelta(minutes=5))
    assert [len(mailbox.to(email)) for _, email, _ in customers] == [1] * 6


def test_a_worker_that_was_down_sends_the_latest_missed_reminder_once(api, database, store, mailbox):
    setup_store(
        api,
        database,
        store,
        prior=({"days": 7, "timeOfDay": "09:00:00"}, {"days": 3, "timeOfDay": "09:00:00"}),
        after=({"days": 1, "timeOfDay": "08:00:00"},),
    )
    account_id, email, _ = customer(api, holder=False)
    first, second = bill(api, database, store, account_id, "40", installments=2)
    # Down from before the 7-days reminder until after the 3-days one: only the latter goes.
    back = send_time(first, 3, "09:00:00", "prior") + timedelta(hours=2)
    run_worker(database, back)
    run_worker(database, back + timedelta(hours=1))
    sent = mailbox.to(email)
    assert len(sent) == 1 and "daqui a 3 dias" in texts(sent[0])[0]
    log = {
        (e["invoiceId"], e["trigger"]["kind"], e["trigger"]["days"]): e
        for e in api.get("/reminders").json()["data"]
    }
    assert log[(first["id"], "prior", 7)]["status"] == "skipped"
    assert log[(first["id"], "prior", 3)]["status"] == "sent"
    # Down for more than the catch-up window (7 days) after the due date: the overdue
    # reminder of the first invoice is not sent weeks late.
    run_worker(database, send_time(first, 1, "08:00:00", "after") + timedelta(days=8))
    assert len(mailbox.to(email)) == 1
    log = {(e["invoiceId"], e["trigger"]["kind"]): e for e in api.get("/reminders").json()["data"]}
    assert log.get((first["id"], "after"), {"status": "skipped"})["status"] == "skipped"


def test_templates_can_be_overridden_per_store(api, other_api, database, store, mailbox):
    setup_store(api, database, store, after=())
    custom = api.put(
        "/reminders/templates/prior",
        json={
            "subject": "Pague a fatura {{ friendly_id }} até {{ due_date }}",
            "text": "Olá {{ customer_email }}, faltam {{ days_until_due }} dias: {{ amount_due }}.",
        },
    )
    assert custom.status_code == 200, custom.text
    assert custom.json()["custom"] is True
    assert other_api.get("/reminders/templates/prior").json()["custom"] is False
    for body, field in (
        ({"subject": "{{ nope }}", "text": "x"}, "subject"),
        ({"subject": "ok", "text": "{% if %}"}, "text"),
        ({"subject": "ok", "text": "ok", "html": "{{ ''.__class__.__mro__ }}"}, "html"),
    ):
        bad = api.put("/reminders/templates/prior", json=body)
        assert bad.status_code == 400 and field in bad.json()["error"]["message"], bad.text
    assert api.put("/reminders/templates/sometimes", json={"subject": "a", "text": "b"}).status_code == 400
    assert (
        store.api(resources=["Read Configuration"])
        .put("/reminders/templates/prior", json={"subject": "a", "text": "b"})
        .status_code
        == 403
    )

    account_id, email, _ = customer(api, holder=False)
    (invoice,) = bill(api, database, store, account_id, "70")
    run_worker(database, send_time(invoice, 3, "09:00:00", "prior") + timedelta(minutes=1))
    (message,) = mailbox.to(email)
    assert message["Subject"].startswith(f"Pague a fatura {invoice['friendlyId']} até ")
    assert message.get_body(preferencelist=("html",)) is None or message.get_content_type() == "text/plain"
    assert message.get_content().strip().replace("\xa0", " ") == f"Olá {email}, faltam 3 dias: R$ 70,00."
    reset = api.delete("/reminders/templates/prior")
    assert reset.status_code == 200 and reset.json()["custom"] is False
    assert "{{ friendly_id }}" in api.get("/reminders/templates/prior").json()["subject"]
