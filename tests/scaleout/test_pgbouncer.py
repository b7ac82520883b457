"""Behind Debian's pgbouncer in transaction pooling mode (each transaction may run on another
server connection): the bank's concurrent money load through it keeps the books exact, with
CUSTOMER_CREDIT_DB_TRANSACTION_POOLER=true turning psycopg's prepared statements off (pgbouncer
1.18 cannot carry them; without the setting a second client fails on the first one's
statement); and no code leaves state in a server session for the next client to inherit."""

import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from customer_credit.db.engine import Database
from loadgen.bank import BankConfig, check_books, run_bank
from loadgen.server import free_port
from tests.conftest import make_settings
from tests.scaleout.support import require_tool

SOURCE = Path(__file__).resolve().parents[2] / "src" / "customer_credit"


class Pgbouncer:
    """A pgbouncer process of the test's own, in front of the test database: `app` pools 20
    server connections, `single` one (so two clients surely share it)."""

    def __init__(self, binary: str, postgresql_url: str, folder: Path):
        target = make_url(postgresql_url)
        self.database = target.database
        self.port = free_port()
        server = f"host={target.host or '127.0.0.1'} port={target.port or 5432} dbname={target.database}"
        server += f" user={target.username or 'postgres'}"
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "pgbouncer.ini"
        config.write_text(
            "[databases]\n"
            f"app = {server}\n"
            f"single = {server} pool_size=1\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = any\n"
            "pool_mode = transaction\n"
            "default_pool_size = 20\n"
            "max_client_conn = 500\n"
            # Fail a stuck test in seconds rather than wait two minutes for a server connection.
            "query_wait_timeout = 15\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
        )
        # pgbouncer refuses to run as root; -u drops to the postgres user after reading its files.
        command = [binary, *(["-u", "postgres"] if os.geteuid() == 0 else []), str(config)]
        self.log_path = folder / "pgbouncer.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self._wait_listening()

    def _wait_listening(self, timeout_s: float = 10) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {self.log_path.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"pgbouncer does not listen: {self.log_path.read_text()}")

    def url(self, alias: str = "app") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{alias}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def pgbouncer(postgresql_url, tmp_path_factory) -> Iterator[Pgbouncer]:
    binary = require_tool("pgbouncer", "pgbouncer")
    running = Pgbouncer(binary, postgresql_url, tmp_path_factory.mktemp("pgbouncer"))
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.slow
@pytest.mark.postgresql_only
def test_the_bank_load_through_pgbouncer_keeps_the_books(pgbouncer, tmp_path, monkeypatch):
    # Read by the server process the bank starts and by every Database it opens here.
    monkeypatch.setenv("CUSTOMER_CREDIT_DB_TRANSACTION_POOLER", "true")
    bank = run_bank(
        pgbouncer.url(), tmp_path, BankConfig(seconds=6, clients=12, accounts_per_store=4), out=print
    )
    report = bank.report()
    assert report["operations"] > 100, bank.summary()

    def succeeded(*ops: str) -> int:
        return sum(report["per_type"].get(op, {}).get("answers", {}).get("2xx", 0) for op in ops)

    assert succeeded("hold") and succeeded("settle"), bank.summary()
    assert succeeded("pay_full", "pay_partial", "pay_put"), bank.summary()
    assert report["server_errors"] == 0, bank.summary()
    assert bank.violations == [], bank.summary()
    # The ledger check, through the pooler as well: 0 mismatches.
    database = Database(make_settings(pgbouncer.url(), tmp_path / "check", db_transaction_pooler=True))
    try:
        assert check_books(database, [store.store_id for store in bank.stores]) == []
    finally:
        database.dispose()
    assert "ERROR" not in pgbouncer.log_path.read_text()


REPEATED = "SELECT count(*) FROM stores WHERE id > %s"


def _run_repeatedly(connection: psycopg.Connection, times: int = 8) -> None:
    for number in range(times):
        with connection.transaction():
            connection.execute(REPEATED, (number,)).fetchone()


@pytest.mark.slow
@pytest.mark.postgresql_only
def test_prepared_statements_need_turning_off_behind_a_transaction_pooler(pgbouncer, tmp_path):
    # psycopg's default: a query run 5 times is prepared, on the server connection of that
    # moment; the pooler then gives that connection to another client, whose own first
    # prepared statement takes the same name.
    conninfo = f"host=127.0.0.1 port={pgbouncer.port} dbname=single user=postgres"
    with (
        psycopg.connect(conninfo, autocommit=True) as first,
        psycopg.connect(conninfo, autocommit=True) as second,
    ):
        _run_repeatedly(first)
        with pytest.raises(psycopg.errors.DuplicatePreparedStatement):
            _run_repeatedly(second)

    database = Database(make_settings(pgbouncer.url("single"), tmp_path, db_transaction_pooler=True))
    try:
        sessions = [database.write, database.read, database.write]
        for _ in range(8):
            for open_session in sessions:
                with open_session() as session:
                    assert (
                        session.execute(
                            text("SELECT count(*) FROM stores WHERE id > :id"), {"id": 0}
                        ).scalar()
                        >= 0
                    )
    finally:
        database.dispose()


# Session state outlives the transaction on a pooled server connection and reaches whichever
# client gets it next: SET without LOCAL, session advisory locks, LISTEN, WITH HOLD cursors,
# explicit PREPARE.
SESSION_STATE = re.compile(
    r"""["']\s*SET\s+(?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b)"""
    r"""|["']\s*(LISTEN|UNLISTEN|PREPARE|DISCARD)\b"""
    r"|WITH\s+HOLD"
    r"|pg_(try_)?advisory_lock(_shared)?\s*\("
    r"|prepare\s*=\s*True"
)


def test_no_code_leaves_state_in_a_pooled_server_session():
    found = [
        f"{path.relative_to(SOURCE)}:{number}: {line.strip()}"
        for path in sorted(SOURCE.rglob("*.py"))
        if "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if SESSION_STATE.search(line)
    ]
    assert found == []
