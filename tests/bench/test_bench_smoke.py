"""The benchmark code, run for seconds on tiny data (`python -m bench --smoke`), so that it
cannot rot: real server processes, wrk, pgbench, the report. Timings are never asserted; what
the scenarios must show is (every read answered, cycles completed, no lost update, books
balanced, the pgbench reference running what the service runs)."""

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from bench import data, pgbench, profiling, wrk
from bench.run import SEARCHES, Options, run
from customer_credit.accounts.service import open_account
from customer_credit.auth.principal import Principal
from customer_credit.auth.resources import MAIN_ACCESS
from customer_credit.auth.service import create_key
from customer_credit.db.engine import Database
from customer_credit.ledger.service import recompute_mismatches
from customer_credit.stores.service import create_store
from tests.conftest import make_settings

pytestmark = pytest.mark.slow


def test_profile_analysis_splits_cpu_by_layer_and_function():
    raw = "\n".join(
        [
            "run (uvicorn/server.py:10);handle (customer_credit/api/context.py:20);"
            "execute (sqlalchemy/engine/base.py:30) 6",
            "run (uvicorn/server.py:10);handle (customer_credit/api/context.py:20) 3",
            "run (uvicorn/server.py:10);dumps (orjson/__init__.py:1) 1",
            "garbage line without count",
        ]
    )
    found = profiling.analyse(raw, "t")
    assert found.samples == 10
    assert dict(found.layers) == {"SQLAlchemy": 6, "service code (customer_credit)": 3, "JSON (orjson)": 1}
    assert found.self_time["engine/base.py:execute"] == 6
    assert found.inclusive["api/context.py:handle"] == 9
    assert found.top(found.layers, 1) == [("SQLAlchemy", 0.6)]


def test_wrk_output_is_read_from_the_result_line():
    output = 'Running 1s test\nBENCH_RESULT {"requests": 3, "ok": 2}\nTransfer/sec: 1KB\n'
    assert wrk.parse(output) == {"requests": 3, "ok": 2}
    with pytest.raises(RuntimeError):
        wrk.parse("no result here")


def test_the_minimal_cycle_runs_on_pgbench_and_keeps_the_books(postgresql_url, tmp_path):
    """The reference is built from a cycle the service really ran: one line per statement, in
    the same transactions, every value bound, and pgbench can run it cycle after cycle on its
    own accounts with the books still balanced."""
    document_prefix = str(uuid.uuid4().int)[:2]
    database = Database(make_settings(postgresql_url, tmp_path))
    try:
        with database.write() as session:
            store = create_store(session, f"bench-{uuid.uuid4().hex[:10]}")
            issued = create_key(session, store, [MAIN_ACCESS])
            principal = Principal(
                store_id=store.id, name="bench@example.com", resources=frozenset([MAIN_ACCESS])
            )
            accounts = [
                open_account(
                    session,
                    principal,
                    document=data.pgbench_document(document_prefix, index),
                    document_type="CPF",
                    email=f"bench{index}@example.com",
                    credit_limit=Decimal("100000"),
                ).public_id
                for index in range(2)
            ]
        captured = pgbench.capture_cycle(
            postgresql_url, account_public_id=accounts[-1], app_key=issued.app_key, app_token=issued.app_token
        )
        script = pgbench.MINIMAL_CYCLE.read_text()
        tables = {
            statement.sql.split()[2]
            for statement in captured.statements
            if statement.sql.startswith("INSERT INTO")
        }
        assert {"transactions", "invoices", "statements"} <= tables
        # The reference: one transaction per API call, fewer statements than the service sends.
        assert script.count("BEGIN;") == 5 and script.count("COMMIT;") == 5
        assert 0 < pgbench.statement_count(script) < len(captured.statements)
        result = pgbench.run(
            postgresql_url,
            script,
            store_id=store.id,
            document_base=data.pgbench_document(document_prefix, 0),
            clients=2,
            duration_s=1,
        )
        assert result.cycles > 0 and result.failed == 0
        with database.read() as session:
            assert recompute_mismatches(session, store.id) == []
            settled = session.execute(
                text("select count(*) from transactions where store_id = :s and status = 'Settled'"),
                {"s": store.id},
            ).scalar()
        assert settled >= result.cycles + 2  # the service's two captured cycles, then pgbench's
    finally:
        database.dispose()


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, postgresql_url):
    """One smoke run of the whole benchmark (PostgreSQL, growth and SQLite) for the module."""
    try:
        wrk.ensure_wrk()
    except (RuntimeError, OSError) as error:
        pytest.skip(f"wrk cannot be installed here: {error}")
    workdir = tmp_path_factory.mktemp("bench")
    options = Options.smoke(workdir / "work", workdir / "latest.md")
    return options, run(options)


def test_every_read_is_answered(smoke):
    _options, outcome = smoke
    for name in ("reference", "reads", "reads 2", "sqlite reads", "growth reads"):
        row = outcome.rows[name]
        assert row.requests > 0 and row.errors == 0, (name, row)


def test_purchase_cycles_complete_and_match_pgbench(smoke):
    _options, outcome = smoke
    for name in ("cycle", "sqlite cycle"):
        row = outcome.rows[name]
        assert row.throughput > 0 and row.errors == 0, (name, row)
    assert outcome.pgbench_result.cycles > 0 and outcome.pgbench_result.failed == 0
    assert 0 < outcome.pgbench_statements < outcome.cycle_statements


def test_hot_account_loses_no_update(smoke):
    _options, outcome = smoke
    assert outcome.hot.accepted > 0
    assert outcome.hot.lost_updates == 0
    assert outcome.hot.held_cents == outcome.hot.expected_cents
    assert outcome.rows["hot"].errors == 0


def test_every_search_answers(smoke):
    _options, outcome = smoke
    for name in SEARCHES:
        row = outcome.rows[f"search {name}"]
        assert row.requests > 0 and row.errors == 0, (name, row)


def test_books_balance_after_every_phase(smoke):
    _options, outcome = smoke
    assert len(outcome.report.checks) >= 5
    assert all(count == 0 for _when, count in outcome.report.checks), outcome.report.checks


def test_memory_is_measured_per_worker(smoke):
    options, outcome = smoke
    assert set(outcome.rss) == {"reads 1", "reads 2", "end"}
    for values in outcome.rss.values():
        assert len(values) == options.workers and all(mib > 0 for mib in values.values())


def test_report_has_a_table_per_scenario(smoke):
    options, outcome = smoke
    text = options.out.read_text()
    for heading in (
        "## Machine and setup",
        "## Targets",
        "## Reads (PostgreSQL)",
        "## Purchase cycle",
        "## Hot account",
        "## Invoice search",
        "## Embedded mode (SQLite)",
        "## Growth",
        "## Memory",
        "## Ledger checks",
    ):
        assert heading in text, heading
    assert "pgbench" in text and "bare endpoint" in text
    assert outcome.report.machine["cores"].isdigit()


def test_search_plans_are_written_beside_the_report(smoke):
    options, _outcome = smoke
    plans = (options.out.parent / "plans.md").read_text()
    for name in SEARCHES:
        assert f"### {name}" in plans, name
    assert "Execution Time" in plans and "Scan" in plans


def test_checkout_payments_are_approved_and_held(smoke):
    """Every checkout request is a new paymentId on a buyer with room: each is approved, and
    each approval is a payment and a live hold in the database."""
    options, outcome = smoke
    row, check = outcome.rows["checkout"], outcome.checkout
    assert row.requests > 0 and row.errors == 0, row
    assert check.approved_answers == row.requests
    assert check.approved_in_db >= check.approved_answers
    assert check.holds_in_db == check.approved_in_db
    assert "## Checkout payments (PostgreSQL)" in options.out.read_text()
    assert any(target.scenario.startswith("checkout payments") for target in outcome.report.targets)


def test_scale_out_runs_on_one_then_two_processes_and_reports_the_ratio(smoke):
    """bench/scale.py: the reads and the purchase cycle on 1, then 2 server processes, each
    answered in full; both processes of the second run served (wrk spread its connections)."""
    options, outcome = smoke
    for name in ("scale reads 1", "scale reads 2", "scale cycle 1", "scale cycle 2"):
        row = outcome.rows[name]
        assert row.requests > 0 and row.errors == 0, (name, row)
    assert set(outcome.scale.ratios) == {"reads", "cycle"}
    assert all(ratio > 0 for ratio in outcome.scale.ratios.values())
    assert len(outcome.scale.cpu_by_process) == 2 and min(outcome.scale.cpu_by_process) > 0
    text = options.out.read_text()
    assert "## Scale-out: 1 and 2 server processes (PostgreSQL)" in text
    assert "| load | 1 process | 2 processes | ratio |" in text
    assert any(target.scenario == "scale-out, 2 server processes" for target in outcome.report.targets)
