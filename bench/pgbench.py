"""The purchase cycle's reference: pgbench running, per cycle, exactly the SQL the service runs
for it, with nothing of Python in between.

`capture_cycle` runs one steady cycle through the app in this process and records every
statement with its parameters and the transactions around them. `cycle_script` turns that
record into a pgbench script: the same statements, in the same order and transactions, with
the values that differ from one cycle to the next (the account, the new transaction and its
invoices, ids that must stay unique, timestamps) replaced by pgbench variables or SQL
expressions. So the reference follows the service whenever its SQL changes."""

import json
import re
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from bench.data import CYCLE_VALUE, Backends, libpq_url
from bench.server import CpuMeter

CONTROL = {"BEGIN", "COMMIT", "ROLLBACK"}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_EVENT_ID = re.compile(r"evt_[0-9a-f]{32}")
_RETURNING_ID = re.compile(r"RETURNING transactions\.id\b.*$", re.IGNORECASE)


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


def _quote(text: str) -> str:
    """A SQL literal. pgbench -M prepared turns every `:name` into a parameter, even inside a
    string, so colons are spelled chr(58)."""
    pieces = ["'" + piece.replace("'", "''") + "'" for piece in text.split(":")]
    return pieces[0] if len(pieces) == 1 else "(" + " || chr(58) || ".join(pieces) + ")"


class _Translator:
    """Turns captured statements into pgbench SQL for any client and any cycle."""

    def __init__(self, capture: Capture):
        self.capture = capture
        # Strings inside which these values are replaced, longest first.
        self.tokens = [
            (capture.transaction_public_id, ":t_public"),
            (capture.account_public_id, "(:document)::text || '_CPF'"),
            # Unique per store like the service's random one: from the new transaction's pk.
            (capture.friendly_prefix, "('P' || lpad(to_hex((:t_id)::int), 7, '0'))"),
        ]
        self.tokens = [(value, expression) for value, expression in self.tokens if value]
        self.tokens.sort(key=lambda pair: -len(pair[0]))
        self.invoice_pks = set(capture.invoice_ids)

    def string(self, value: str) -> str:
        """A SQL expression for a captured string, with the per-cycle parts made variable."""
        parts: list[str] = []
        remaining = value
        pattern = re.compile("|".join([re.escape(token) for token, _ in self.tokens] + [_EVENT_ID.pattern]))
        position = 0
        for match in pattern.finditer(remaining):
            if match.start() > position:
                parts.append(_quote(remaining[position : match.start()]))
            found = match.group(0)
            if _EVENT_ID.fullmatch(found):
                parts.append("('evt_' || md5(random()::text || clock_timestamp()::text))")
            else:
                parts.append(next(expression for token, expression in self.tokens if token == found))
            position = match.end()
        if position < len(remaining):
            parts.append(_quote(remaining[position:]))
        if not parts:
            return "''"
        return parts[0] if len(parts) == 1 else "(" + " || ".join(parts) + ")"

    def value(self, name: str, value, at: datetime, table: str = "") -> str:
        capture = self.capture
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            lowered = name.lower()
            if "store_id" in lowered and value == capture.store_id:
                return "(:store_id)"
            if re.search(r"installment|_cents|postponement_count|coalesce", lowered):
                return str(value)
            # Which row's key: the parameter's name says it (account_id, transactions_id, …),
            # or, for a bare id/pk, the table the statement works on. Ids of different tables
            # may be equal numbers, so the value alone cannot tell.
            keys = {
                "transaction": (value == capture.transaction_id, "(:t_id)"),
                "account": (value == capture.account_id, "(:a_id)"),
                "invoice": (value in self.invoice_pks, "(:i_id)"),
            }
            for word, (matches, variable) in keys.items():
                if word in lowered and matches:
                    return variable
            if re.fullmatch(r"(id|pk)(_\d+)?", lowered) and table:
                matches, variable = keys.get(table.rstrip("s"), (False, ""))
                if matches:
                    return variable
            return str(value)
        if isinstance(value, (float, Decimal)):
            return str(value)
        if isinstance(value, datetime):
            days = round((value - at).total_seconds() / 86400)
            now = "(now() AT TIME ZONE 'UTC')"
            return now if days == 0 else f"({now} + interval '{days} days')"
        if hasattr(value, "obj") and type(value).__name__ in ("Json", "Jsonb"):
            # psycopg's JSON wrapper (SQLAlchemy's JSON columns bind it).
            return self.string(json.dumps(value.obj, default=str))
        if isinstance(value, (bytes, bytearray)):
            return "'\\x" + bytes(value).hex() + "'::bytea"
        return self.string(str(value))

    def statement(self, statement: Statement) -> str:
        sql = statement.sql
        upper = sql.upper()
        gset = ""
        if upper.startswith("INSERT INTO TRANSACTIONS"):
            # The new transaction's id and public id, as the service makes them: random.
            sql = _RETURNING_ID.sub("RETURNING transactions.id AS id, transactions.public_id AS public", sql)
            gset = " \\gset t_"
            statement = Statement(
                sql,
                {
                    name: ("\0new-transaction-id" if value == self.capture.transaction_public_id else value)
                    for name, value in statement.parameters.items()
                },
                statement.at,
            )
        elif upper.startswith("SELECT") and " FROM ACCOUNTS" in upper and ".PUBLIC_ID =" in upper:
            gset = " \\gset a_"
        elif (
            upper.startswith("SELECT")
            and " FROM INVOICES JOIN ACCOUNTS" in upper
            and "INVOICES.PUBLIC_ID =" in upper
        ):
            gset = " \\gset i_"

        table = _table_of(sql)

        def substitute(match: re.Match) -> str:
            name = match.group(1)
            if name not in statement.parameters:
                raise ValueError(f"no value captured for %({name})s in: {sql[:200]}")
            value = statement.parameters[name]
            if value == "\0new-transaction-id":
                return "upper(md5(random()::text || clock_timestamp()::text))"
            return self.value(name, value, statement.at, table)

        translated = _PLACEHOLDER.sub(substitute, sql)
        return translated + (gset if gset else ";")


def _table_of(sql: str) -> str:
    """The table a statement reads or writes first: after FROM, UPDATE or INTO."""
    match = re.search(r"\b(?:FROM|UPDATE|INTO)\s+(\w+)", sql, re.IGNORECASE)
    return match.group(1).lower() if match else ""


def cycle_script(capture: Capture) -> str:
    """The pgbench script of one cycle (see the module's docstring)."""
    translator = _Translator(capture)
    lines = ["\\set document :document_base + :client_id"]
    for step in capture.steps:
        lines.append(f"{step};" if isinstance(step, str) else translator.statement(step))
    return "\n".join(lines) + "\n"


def statement_count(script: str) -> int:
    """SQL statements per cycle (meta-commands and transaction control left out)."""
    count = 0
    for line in script.splitlines():
        line = line.strip()
        if not line or line.startswith("\\") or line.rstrip(";") in CONTROL:
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
