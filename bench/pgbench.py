"""The purchase cycle's reference: pgbench running a hand-written minimal cycle for our schema,
`bench/sql/minimal-cycle.sql` (one transaction per API call, the fewest statements that keep the
locks, the ledger and the outbox), with nothing of Python in between. It is not a replay of what
the service sends, so cutting the service's round trips raises the ratio to it.

`capture_cycle` runs one steady cycle through the app in this process and records every
statement and transaction it sent: the report gives the service's count beside the reference's."""

import re
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.data import CYCLE_VALUE, Backends, libpq_url
from bench.server import CpuMeter

CONTROL = {"BEGIN", "COMMIT", "ROLLBACK"}
MINIMAL_CYCLE = Path(__file__).parent / "sql" / "minimal-cycle.sql"


@dataclass
class Statement:
    sql: str
    parameters: dict
    at: datetime  # naive UTC, when it was sent


@dataclass
class Capture:
    """One steady purchase cycle as the service ran it."""

    steps: list[Statement | str] = field(default_factory=list)  # a Statement, or BEGIN/COMMIT/ROLLBACK
    store_id: int = 0
    account_id: int = 0
    account_public_id: str = ""
    transaction_id: int = 0
    transaction_public_id: str = ""
    friendly_prefix: str = ""
    invoice_ids: dict[int, str] = field(default_factory=dict)  # pk → public id

    @property
    def statements(self) -> list[Statement]:
        return [step for step in self.steps if isinstance(step, Statement)]


def capture_cycle(url: str, *, account_public_id: str, app_key: str, app_token: str) -> Capture:
    """Runs two purchase cycles through the app (the first warms every cache) and records the
    second one."""
    from sqlalchemy import event, text
    from starlette.testclient import TestClient

    from customer_credit.app import create_app
    from customer_credit.db.engine import Database
    from customer_credit.settings import Settings

    settings = Settings(database_url=url, secret_key="capture-" + "x" * 40, log_level="WARNING")
    database = Database(settings)
    capture = Capture(account_public_id=account_public_id)
    recording = False

    def record(_conn, _cursor, statement, parameters, _context, _executemany):
        if recording:
            params = parameters if isinstance(parameters, dict) else {}
            capture.steps.append(Statement(" ".join(statement.split()), dict(params), _utcnow()))

    def control(word):
        def listener(_conn):
            if recording:
                capture.steps.append(word)

        return listener

    for engine in {database.read_engine, database.write_engine}:
        event.listen(engine, "before_cursor_execute", record)
        for word in CONTROL:
            event.listen(engine, word.lower(), control(word))
    headers = {"X-VTEX-API-AppKey": app_key, "X-VTEX-API-AppToken": app_token}
    base = f"/api/creditcontrol/accounts/{account_public_id}"
    amount = int(CYCLE_VALUE)

    def one_cycle(client) -> str:
        held = client.post(
            f"{base}/transactions", headers=headers, json={"value": amount, "settle": True, "installments": 3}
        )
        held.raise_for_status()
        transaction = held.json()["id"]
        client.put(
            f"{base}/transactions/{transaction}/settlement", headers=headers, json={"value": amount}
        ).raise_for_status()
        for installment in (1, 2, 3):
            client.post(
                f"{base}/invoices/{transaction}-0{installment}/payments", headers=headers
            ).raise_for_status()
        return transaction

    try:
        with TestClient(create_app(settings, database)) as client:
            one_cycle(client)
            recording = True
            capture.transaction_public_id = one_cycle(client)
            recording = False
        with database.read() as session:
            capture.store_id, capture.account_id = session.execute(
                text("select store_id, id from accounts where public_id = :p and status = 'Open'"),
                {"p": account_public_id},
            ).one()
            capture.transaction_id, capture.friendly_prefix = session.execute(
                text("select id, friendly_prefix from transactions where store_id = :s and public_id = :p"),
                {"s": capture.store_id, "p": capture.transaction_public_id},
            ).one()
            capture.invoice_ids = dict(
                session.execute(
                    text("select id, public_id from invoices where transaction_id = :t"),
                    {"t": capture.transaction_id},
                ).all()
            )
    finally:
        database.dispose()
    return capture


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def statement_count(script: str) -> int:
    """SQL statements per cycle (meta-commands and transaction control left out)."""
    count = 0
    for line in script.splitlines():
        line = line.strip()
        if not line or line.startswith(("\\", "--")) or line.rstrip(";") in CONTROL:
            continue
        count += 1
    return count


@dataclass
class PgbenchResult:
    cycles_per_s: float
    cycles: int
    failed: int
    clients: int
    duration_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    command: list[str]
    database_cpu_s: float = 0.0
    script: str = ""


def run(
    url: str,
    script: str,
    *,
    store_id: int,
    document_base: str,
    clients: int,
    duration_s: float,
    threads: int = 2,
) -> PgbenchResult:
    """pgbench with the cycle script, one client per account (document_base + client_id)."""
    if not shutil.which("pgbench"):
        raise RuntimeError("pgbench is missing: it comes with PostgreSQL (Debian: postgresql-15)")
    workdir = Path(tempfile.mkdtemp(prefix="cc-pgbench-"))
    script_path = workdir / "cycle.sql"
    script_path.write_text(script)
    command = [
        "pgbench",
        "-n",
        "-M",
        "prepared",
        "-c",
        str(clients),
        "-j",
        str(min(threads, clients)),
        "-T",
        str(max(1, round(duration_s))),
        "-f",
        str(script_path),
        "-l",
        "--log-prefix",
        str(workdir / "log"),
        "-D",
        f"store_id={store_id}",
        "-D",
        f"document_base={document_base}",
        libpq_url(url),
    ]
    backends = Backends(url)
    meter = CpuMeter(backends).start()
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=duration_s + 120)
    finally:
        database_cpu_s = meter.stop()
        backends.close()
    if completed.returncode != 0:
        raise RuntimeError(f"pgbench failed: {completed.stderr[-3000:]}")
    latencies_us = []
    failed = 0
    for log in workdir.glob("log*"):
        for line in log.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3:
                if fields[2] in ("failed", "skipped"):
                    failed += 1
                else:
                    latencies_us.append(int(fields[2]))
    output = completed.stdout
    match = re.search(
        r"tps = ([\d.]+) \((?:without initial connection time|excluding connections establishing)\)", output
    )
    tps = float(match.group(1)) if match else len(latencies_us) / duration_s
    processed = re.search(r"number of transactions actually processed: (\d+)", output)
    cycles = int(processed.group(1)) if processed else len(latencies_us)
    return PgbenchResult(
        cycles_per_s=tps,
        cycles=cycles,
        failed=failed,
        clients=clients,
        duration_s=duration_s,
        p50_ms=_percentile(latencies_us, 50) / 1000,
        p95_ms=_percentile(latencies_us, 95) / 1000,
        p99_ms=_percentile(latencies_us, 99) / 1000,
        command=command,
        database_cpu_s=database_cpu_s,
        script=script,
    )


def _percentile(values: list[int], percent: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[int(percent) - 1]
