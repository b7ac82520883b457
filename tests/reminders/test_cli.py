"""A new user's path from the command line: the embedded default writes each reminder as a
.eml file (no mail server), `worker --once --now …` moves the clock, and
`reminders preview --date` lists what a day will send; webhooks are managed from the CLI too."""

import email
import json
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
from typer.testing import CliRunner

from customer_credit import cli, logs
from customer_credit.settings import get_settings
from tests.helpers import configure, open_account, purchase


@pytest.fixture
def run_cli(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTOMER_CREDIT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CUSTOMER_CREDIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CUSTOMER_CREDIT_MAIL_BACKEND", "eml")
    monkeypatch.setenv("CUSTOMER_CREDIT_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")  # its webhook is on loopback
    monkeypatch.setenv("CUSTOMER_CREDIT_LOG_LEVEL", "WARNING")
    monkeypatch.setattr(logs, "configure", lambda level: None)
    get_settings.cache_clear()

    def run(*args: str):
        result = CliRunner().invoke(cli.app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    yield run
    get_settings.cache_clear()


def test_a_reminder_lands_as_an_eml_file_when_the_clock_moves(api, store, run_cli, tmp_path):
    configure(
        api,
        notificationsSettings={"daysPrior": [{"days": 3, "timeOfDay": "09:00:00"}], "daysAfter": []},
    )
    opened = open_account(api, credit_limit="500")
    purchase(api, opened["id"], "123.45")
    (invoice,) = api.get(f"/accounts/{opened['id']}/invoices").json()["data"]
    due = datetime.fromisoformat(invoice["dueDate"].replace("Z", "+00:00"))
    send_day = (due - timedelta(days=3)).date()  # the store's time zone is UTC by default
    send_at = datetime.combine(send_day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)

    listed = run_cli("reminders", "preview", "--date", send_day.isoformat(), "--store", store.name)
    assert invoice["friendlyId"] in listed and opened["email"] in listed and "would send" in listed
    assert "1 reminders" in listed
    other_day = run_cli(
        "reminders", "preview", "--date", (send_day - timedelta(days=1)).isoformat(), "--store", store.name
    )
    assert "0 reminders" in other_day

    handled = json.loads(run_cli("worker", "--once", "--now", (send_at - timedelta(minutes=5)).isoformat()))
    assert handled["reminders-send"] == 0 and not list((tmp_path / "outbox").glob("*.eml"))
    handled = json.loads(run_cli("worker", "--once", "--now", (send_at + timedelta(minutes=5)).isoformat()))
    assert handled["reminders-send"] >= 1
    files = [path for path in (tmp_path / "outbox").glob("*.eml") if invoice["friendlyId"] in path.name]
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["To"] == opened["email"]
    assert invoice["friendlyId"] in message["Subject"] and "$123.45" in message["Subject"]
    assert "$123.45" in message.get_body(preferencelist=("plain",)).get_content()
    assert "$123.45" in message.get_body(preferencelist=("html",)).get_content()
    assert "sent" in run_cli("reminders", "preview", "--date", send_day.isoformat(), "--store", store.name)
    log = run_cli("reminders", "log", "--store", store.name)
    assert invoice["id"] in log and "prior 3\tsent\tattempts=1" in log
    # Once: running again writes nothing new.
    run_cli("worker", "--once", "--now", (send_at + timedelta(hours=1)).isoformat())
    assert len([p for p in (tmp_path / "outbox").glob("*.eml") if invoice["friendlyId"] in p.name]) == 1


def test_webhooks_from_the_cli(api, store, run_cli):
    created = run_cli(
        "webhooks",
        "create",
        "--store",
        store.name,
        "--url",
        "http://127.0.0.1:9/hook",
        "--event",
        "invoice.paid",
        "--event",
        "invoice.overdue",
    )
    endpoint_id = created.split("endpoint: ")[1].split()[0]
    assert "secret: whsec_" in created
    listed = run_cli("webhooks", "list", "--store", store.name)
    assert endpoint_id in listed and "invoice.paid, invoice.overdue" in listed and "whsec_" not in listed
    assert [item["id"] for item in api.get("/webhooks").json()["data"]] == [endpoint_id]
    run_cli("webhooks", "delete", endpoint_id, "--store", store.name)
    assert api.get("/webhooks").json()["data"] == []
    refused = CliRunner().invoke(cli.app, ["webhooks", "create", "--store", store.name, "--url", "nope"])
    assert refused.exit_code == 2 and "url" in refused.output
