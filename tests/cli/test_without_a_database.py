"""Issue 12: run outside the checkout, a command that only reads says where it looked for the
database, in one line with exit code 2, and leaves no empty database behind."""

import pytest

from customer_credit.db.migrate import upgrade
from tests.cli.support import one_error_line, run

READ_COMMANDS = [
    ("check",),
    ("keys", "list"),
    ("users", "list"),
    ("links", "list", "--store", "default", "--account", "1_CPF"),
    ("reminders", "preview", "--date", "2027-01-05"),
    ("reminders", "preview", "--at", "2027-01-05T10:00"),
    ("reminders", "log", "--store", "default"),
    ("webhooks", "list", "--store", "default"),
    ("tokens", "issue", "--store", "default", "--email", "someone@example.com"),
]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda command: " ".join(command[:2]))
def test_a_read_command_outside_a_checkout_names_the_path_and_creates_nothing(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = one_error_line(run({}, *command))
    assert str(tmp_path / "var" / "customer-credit.db") in line
    assert "CUSTOMER_CREDIT_DATABASE_URL" in line and "customer-credit first-run" in line
    assert list(tmp_path.iterdir()) == []


def test_a_write_command_does_not_create_the_database_either(tmp_path):
    url = f"sqlite:///{tmp_path / 'elsewhere' / 'credit.db'}"
    line = one_error_line(run({"CUSTOMER_CREDIT_DATABASE_URL": url}, "stores", "create", "shop"))
    assert str(tmp_path / "elsewhere" / "credit.db") in line
    assert list(tmp_path.iterdir()) == []


def test_an_empty_file_is_a_database_without_schema(tmp_path):
    (tmp_path / "credit.db").touch()
    line = one_error_line(
        run({"CUSTOMER_CREDIT_DATABASE_URL": f"sqlite:///{tmp_path / 'credit.db'}"}, "check")
    )
    assert f"the database at {tmp_path / 'credit.db'} has no schema" in line


def test_a_database_behind_the_migrations_says_to_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'credit.db'}"
    upgrade(url, "0008_webhook_deliveries")
    line = one_error_line(run({"CUSTOMER_CREDIT_DATABASE_URL": url}, "keys", "list"))
    assert "is at schema 0008_webhook_deliveries" in line and "customer-credit db upgrade" in line
    upgraded = run({"CUSTOMER_CREDIT_DATABASE_URL": url}, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert run({"CUSTOMER_CREDIT_DATABASE_URL": url}, "keys", "list").exit_code == 0


def test_an_unreachable_postgresql_is_one_line_without_its_password(tmp_path):
    url = "postgresql+psycopg://someone:s3cr3t@127.0.0.1:1/credit"
    line = one_error_line(run({"CUSTOMER_CREDIT_DATABASE_URL": url}, "check"))
    assert "127.0.0.1:1/credit" in line and "s3cr3t" not in line
