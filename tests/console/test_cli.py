"""The console's commands, run as a person runs them: first-run's operator (once), users create,
links create."""

import json
import re

from starlette.testclient import TestClient
from typer.testing import CliRunner

from customer_credit import cli
from customer_credit.app import create_app
from customer_credit.db.engine import Database
from tests.conftest import make_settings
from tests.console.support import Console


class Result:
    def __init__(self, outcome):
        self.returncode = outcome.exit_code
        self.stdout = outcome.stdout
        self.stderr = outcome.stderr


def run(env: dict, *args: str) -> Result:
    """The command in this process (the settings read afresh from `env`)."""
    cli.get_settings.cache_clear()
    try:
        return Result(CliRunner().invoke(cli.app, list(args), env=env))
    finally:
        cli.get_settings.cache_clear()


def test_first_run_operator_users_and_links(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {
        "CUSTOMER_CREDIT_DATABASE_URL": url,
        "CUSTOMER_CREDIT_DATA_DIR": str(tmp_path / "var"),
        "CUSTOMER_CREDIT_SECRET_KEY": make_settings("sqlite://", tmp_path).secret_key,
        "CUSTOMER_CREDIT_LOG_LEVEL": "WARNING",
    }
    first = run(env, "first-run")
    assert first.returncode == 0, first.stderr
    printed = re.search(r"e-mail: (\S+)\s+password: (\S+)", first.stdout)
    assert printed, first.stdout
    kept = json.loads((tmp_path / "var" / "first-run-operator.json").read_text())
    assert (kept["email"], kept["password"]) == printed.groups()
    assert oct((tmp_path / "var" / "first-run-operator.json").stat().st_mode & 0o777) == "0o600"
    again = run(env, "first-run")
    assert again.returncode == 0 and "Reusing the first operator" in again.stdout
    assert re.search(r"e-mail: (\S+)\s+password: (\S+)", again.stdout).groups() == printed.groups()

    created = run(
        env, "users", "create", "--store", "default", "--email", "Viewer@Example.com", "--role", "viewer"
    )
    assert created.returncode == 0, created.stderr
    generated = re.search(r"password: (\S+)", created.stdout).group(1)
    chosen = run(
        env,
        "users",
        "create",
        "--store",
        "default",
        "--email",
        "second@example.com",
        "--password",
        "a chosen long password",
    )
    assert chosen.returncode == 0 and "password:" not in chosen.stdout
    duplicate = run(
        env,
        "users",
        "create",
        "--store",
        "default",
        "--email",
        "viewer@example.com",
        "--role",
        "admin",
        "--password",
        "a chosen long password",
    )
    assert duplicate.returncode != 0 and "already an operator" in duplicate.stderr
    listed = run(env, "users", "list")
    assert "viewer@example.com\tdefault\tviewer\tactive" in listed.stdout
    assert generated not in listed.stdout

    settings = make_settings(url, tmp_path / "var")
    assert settings.secret_key == env["CUSTOMER_CREDIT_SECRET_KEY"]  # links signed by the CLI work here
    database = Database(settings)
    app = create_app(settings, database)
    try:
        console = Console(app)
        assert console.sign_in(*printed.groups()).status_code == 303
        assert Console(app).sign_in("viewer@example.com", generated).status_code == 303

        key = json.loads((tmp_path / "var" / "first-run-key.json").read_text())
        opened = TestClient(app).post(
            "/api/creditcontrol/accounts",
            headers={"X-VTEX-API-AppKey": key["appKey"], "X-VTEX-API-AppToken": key["appToken"]},
            json={"document": "12345678901", "documentType": "CPF", "email": "customer@example.com"},
        )
        assert opened.status_code == 200, opened.text
        account = ("--store", "default", "--account", "12345678901_CPF")
        refused = run(env, "links", "create", *account, "--email", "customer@example.com")
        assert refused.returncode != 0 and "My Credits is turned off" in refused.stderr
        console.post(
            "/admin/settings",
            {
                "dailyInterestRate": "0",
                "invoicePostponementLimit": "0",
                "taxRate": "0",
                "maxPostponementDays": "0",
                "defaultCreditValue": "0",
                "maxPreAuthorizationGrowthRate": "0",
                "myCreditsEnabled": "on",
                "locale": "en_US",
                "currency": "USD",
                "timezone": "UTC",
            },
        )
        linked = run(
            env,
            "links",
            "create",
            *account,
            "--email",
            "customer@example.com",
            "--ttl-minutes",
            "5",
            "--base-url",
            "http://testserver",
        )
        assert linked.returncode == 0, linked.stderr
        url_printed = linked.stdout.strip()
        assert url_printed.startswith("http://testserver/my-credits/enter?token=")
        customer = TestClient(app, follow_redirects=False)
        entered = customer.get(url_printed.removeprefix("http://testserver"))
        assert entered.status_code == 303
        assert "Account 12345678901_CPF" in customer.get("/my-credits").text
    finally:
        database.dispose()
