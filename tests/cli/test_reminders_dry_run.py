"""`reminders preview --at`: what a worker run at that moment would send, decided by the
reminder job's own rules, without sending or writing anything (the safe way to look ahead,
unlike CUSTOMER_CREDIT_CLOCK_OFFSET_DAYS)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from customer_credit.events.models import Event
from customer_credit.invoices.models import Invoice
from customer_credit.ledger.models import Statement
from customer_credit.reminders.models import Reminder
from customer_credit.transactions.models import Transaction
from tests.cli.support import run
from tests.helpers import configure, hold, open_account, purchase

WATCHED = (Reminder, Event, Transaction, Invoice, Statement)


def row_counts(database) -> dict[str, int]:
    with database.read() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) for model in WATCHED
        }


def test_the_dry_run_lists_the_reminder_due_at_that_moment_and_writes_nothing(
    api, store, settings, database, tmp_path
):
    configure(
        api,
        notificationsSettings={"daysPrior": [{"days": 3, "timeOfDay": "09:00:00"}], "daysAfter": []},
    )
    opened = open_account(api, credit_limit="500")
    purchase(api, opened["id"], "123.45")
    assert hold(api, opened["id"], "10", settle=False).status_code == 200  # a live hold
    (invoice,) = api.get(f"/accounts/{opened['id']}/invoices").json()["data"]
    due = datetime.fromisoformat(invoice["dueDate"].replace("Z", "+00:00"))
    send_at = datetime.combine((due - timedelta(days=3)).date(), datetime.min.time(), tzinfo=UTC)
    send_at += timedelta(hours=9)  # the store's time zone is UTC by default
    env = {"CUSTOMER_CREDIT_DATABASE_URL": settings.database_url, "CUSTOMER_CREDIT_DATA_DIR": str(tmp_path)}
    before = row_counts(database)

    def preview_at(moment: datetime) -> str:
        result = run(env, "reminders", "preview", "--at", f"{moment:%Y-%m-%dT%H:%M}", "--store", store.name)
        assert result.exit_code == 0, result.output
        return result.stdout

    listed = preview_at(send_at + timedelta(minutes=5))
    (line,) = [line for line in listed.splitlines() if invoice["friendlyId"] in line]
    assert store.name in line and invoice["id"] in line and "3 days before" in line
    assert opened["email"] in line and line.endswith("would send")
    assert f"1 reminders would be sent at {send_at + timedelta(minutes=5):%Y-%m-%dT%H:%M}Z" in listed
    assert "nothing was sent or written" in listed
    assert "0 reminders would be sent" in preview_at(send_at - timedelta(minutes=5))
    # Long after: the due date passed, so the job would no longer send a "before" reminder.
    assert "0 reminders would be sent" in preview_at(due + timedelta(days=2))

    assert row_counts(database) == before
    assert not (tmp_path / "outbox").exists()
    with database.read() as session:
        live = session.scalar(
            select(func.count())
            .select_from(Transaction)
            .where(Transaction.store_id == store.id, Transaction.status == "Authorized")
        )
    assert live == 1


def test_the_dry_run_wants_a_day_or_a_moment(settings, tmp_path):
    env = {"CUSTOMER_CREDIT_DATABASE_URL": settings.database_url}
    for args in ([], ["--date", "2027-01-05", "--at", "2027-01-05T10:00"]):
        result = run(env, "reminders", "preview", *args)
        assert result.exit_code == 2 and "--date" in result.stderr and "--at" in result.stderr
    refused = run(env, "reminders", "preview", "--at", "next tuesday")
    assert refused.exit_code == 2 and "--at" in refused.stderr
