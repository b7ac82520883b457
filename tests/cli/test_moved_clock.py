"""CUSTOMER_CREDIT_CLOCK_OFFSET_DAYS moves real holds and invoices for good: `worker` and
`serve` (with the worker in-process) say so loudly, and refuse to start on data that is not
demo data unless the operator confirms it."""

import json
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from customer_credit.app import create_app
from customer_credit.db.engine import Database
from customer_credit.db.migrate import upgrade
from customer_credit.transactions.models import AUTHORIZED, Transaction
from tests.cli.support import run
from tests.conftest import Store, make_settings
from tests.helpers import hold, open_account


@pytest.fixture
def real_books(tmp_path):
    """A database of its own (the worker runs on it) with one store's live hold."""
    url = f"sqlite:///{tmp_path / 'credit.db'}"
    upgrade(url)
    settings = make_settings(url, tmp_path)
    database = Database(settings)
    app = create_app(settings, database)
    with TestClient(app) as http:
        api = Store(database, http).api()
        opened = open_account(api, credit_limit="500")
        # Real time on purpose (the app's own clock, not a frozen one): the `worker` command
        # moves the real clock by CUSTOMER_CREDIT_CLOCK_OFFSET_DAYS, so the hold must be live
        # now and past its expiry on the moved clock (28 or 400 days on), at any hour or zone.
        in_ten_days = (app.state.clock() + timedelta(days=10)).isoformat()
        held = hold(api, opened["id"], "10", settle=False, expirationDate=in_ten_days)
        assert held.status_code == 200, held.text
    yield {"CUSTOMER_CREDIT_DATABASE_URL": url, "CUSTOMER_CREDIT_DATA_DIR": str(tmp_path)}, database
    database.dispose()


def live_holds(database) -> int:
    with database.read() as session:
        return session.query(Transaction).filter(Transaction.status == AUTHORIZED).count()


def test_the_worker_refuses_a_moved_clock_on_real_books(real_books):
    env, database = real_books
    result = run({**env, "CUSTOMER_CREDIT_CLOCK_OFFSET_DAYS": "400"}, "worker", "--once")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("WARNING: CUSTOMER_CREDIT_CLOCK_OFFSET_DAYS=400")
    refusal = result.stderr.strip().splitlines()[-1]
    assert refusal.startswith("error: refusing to start on a moved clock: 1 live holds")
    assert "reminders preview --at" in refusal and "--i-know-this-moves-real-holds" in refusal
    assert live_holds(database) == 1


@pytest.mark.parametrize(
    ("confirmation", "args"),
    [({}, ["--i-know-this-moves-real-holds"]), ({"CUSTOMER_CREDIT_CLOCK_OFFSET_CONFIRMED": "true"}, [])],
)
def test_a_confirmed_moved_clock_runs_with_the_warning(real_books, confirmation, args):
    env, database = real_books
    offset = {**env, "CUSTOMER_CREDIT_CLOCK_OFFSET_DAYS": "400", **confirmation}
    result = run(offset, "worker", "--once", *args)
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("WARNING: CUSTOMER_CREDIT_CLOCK_OFFSET_DAYS=400")
    assert json.loads(result.stdout)["expire-holds"] == 1
    assert live_holds(database) == 0  # what the guard is about: gone for good


def test_demo_data_needs_no_confirmation(tmp_path):
    env = {
        "CUSTOMER_CREDIT_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "CUSTOMER_CREDIT_DATA_DIR": str(tmp_path),
    }
    loaded = run(env, "demo", "--accounts", "5", "--invoices", "20", "--no-check")
    assert loaded.exit_code == 0, loaded.output
    result = run({**env, "CUSTOMER_CREDIT_CLOCK_OFFSET_DAYS": "30"}, "worker", "--once")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("WARNING: CUSTOMER_CREDIT_CLOCK_OFFSET_DAYS=30")


def test_serve_with_the_worker_in_process_refuses_it_too(real_books, monkeypatch):
    import uvicorn

    from customer_credit import logs

    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: pytest.fail("the server started"))
    monkeypatch.setenv(logs.CONFIGURE_IN_APP_ENV, "false")  # serve sets it for its server processes
    env, database = real_books
    offset = {
        **env,
        "CUSTOMER_CREDIT_CLOCK_OFFSET_DAYS": "28",
        "CUSTOMER_CREDIT_RUN_WORKER_IN_PROCESS": "true",
        "CUSTOMER_CREDIT_PORT": "0",
    }
    result = run(offset, "serve", "--no-upgrade-db")
    assert result.exit_code == 2, result.output
    assert "refusing to start on a moved clock" in result.stderr
    assert live_holds(database) == 1
