"""The purchase cycle's reference: pgbench running, per cycle, the SQL statements the service
runs for it (same tables, same rows touched, same locks, same transactions), with nothing of
Python in between. `capture_cycle` records what the service really runs, so the script can be
checked against it (tests/bench/test_bench_smoke.py does)."""

import re
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.data import CYCLE_VALUE, libpq_url

CONTROL = {"BEGIN", "COMMIT", "ROLLBACK"}
VALUE_CENTS = int(CYCLE_VALUE) * 100
INSTALLMENT_CENTS = VALUE_CENTS // 3

_ACCOUNT_COLUMNS = (
    "id, store_id, public_id, document, document_type, email, description, credit_limit_cents, "
    "tolerance_units, initial_credit_limit_cents, initial_tolerance_units, balance_cents, "
    "pre_authorized_cents, status, created_at, updated_at, closed_at"
)
_INVOICE_COLUMNS = (
    "invoices.id, invoices.store_id, invoices.account_id, invoices.transaction_id, "
    "invoices.public_id, invoices.friendly_id, invoices.installment, invoices.number_of_installments, "
    "invoices.order_id, invoices.value_cents, invoices.paid_cents, invoices.status, "
    "invoices.observation, invoices.payment_link, invoices.postponement_count, invoices.due_at, "
    "invoices.original_due_at, invoices.created_at, invoices.updated_at, invoices.resolved_at"
)
_EVENT = (
    "INSERT INTO events (public_id, store_id, account_id, type, occurred_at, body, seq) "
    "VALUES ('evt_' || md5(random()::text), :store_id, :account_id, '{type}', now(), "
    "'{{\"data\": \"' || repeat('x', {size}) || '\"}}', NULL);"
)
_ENTRY = (
    "INSERT INTO statements (store_id, account_id, origin, value_cents, done_by, metadata, "
    "external_id, created_at) VALUES (:store_id, :account_id, '{origin}', {value}, 'bench@example.com', "
    "('{{\"transactionId\": \"' || :tx_public || '\", \"installment\": 1}}')::json, NULL, now());"
)


def _lock_account_by_public_id() -> str:
    return (
        f"SELECT {_ACCOUNT_COLUMNS.replace('id, store_id', 'id AS account_id, store_id', 1)} FROM accounts "
        "WHERE store_id = :store_id AND public_id = (:document)::text || '_CPF' AND status = 'Open' "
        "FOR UPDATE \\gset"
    )


def _store_config() -> str:
    return "SELECT * FROM store_configs WHERE store_id = :store_id;"


def cycle_script() -> str:
    """One cycle: pre-authorize, settle in 3 installments, pay the 3 invoices. The app key is
    authenticated from the server's short-lived cache (auth.service.key_cache), so a steady
    cycle reads no api_keys row."""
    lines = ["\\set document :document_base + :client_id"]
    # POST /accounts/{id}/transactions
    lines += [
        "BEGIN;",
        _lock_account_by_public_id(),
        _store_config(),
        f"UPDATE accounts SET pre_authorized_cents = pre_authorized_cents + {VALUE_CENTS}, "
        "updated_at = now() WHERE id = :account_id;",
        "INSERT INTO transactions (store_id, account_id, public_id, order_id, settle, installments, "
        "hold_cents, original_hold_cents, settled_cents, refunded_cents, refund_excess_cents, "
        "friendly_prefix, status, expires_at, created_at, updated_at, settled_at) VALUES (:store_id, "
        f":account_id, upper(md5(random()::text)), NULL, true, 3, {VALUE_CENTS}, {VALUE_CENTS}, 0, 0, 0, "
        "NULL, 'Authorized', NULL, now(), now(), NULL) RETURNING id AS tx_id, public_id AS tx_public \\gset",
        _EVENT.format(type="transaction.authorized", size=1000),
        "COMMIT;",
    ]
    # PUT /accounts/{id}/transactions/{tx}/settlement
    lines += [
        "BEGIN;",
        _lock_account_by_public_id(),
        "SELECT * FROM transactions WHERE store_id = :store_id AND public_id = :tx_public FOR UPDATE;",
        _store_config(),
        f"UPDATE accounts SET balance_cents = balance_cents - {VALUE_CENTS}, "
        f"pre_authorized_cents = pre_authorized_cents - {VALUE_CENTS}, updated_at = now() "
        "WHERE id = :account_id;",
        _EVENT.format(type="transaction.settled", size=580),
        _ENTRY.format(origin="Invoice", value=-VALUE_CENTS),
        f"UPDATE transactions SET hold_cents = 0, settled_cents = {VALUE_CENTS}, "
        "friendly_prefix = substr(md5(random()::text), 1, 8), status = 'Settled', updated_at = now(), "
        "settled_at = now() WHERE id = :tx_id;",
        "SELECT coalesce(max(installment), 0) FROM invoices WHERE transaction_id = :tx_id;",
        "INSERT INTO events (public_id, store_id, account_id, type, occurred_at, body, seq) "
        "SELECT 'evt_' || md5(random()::text), :store_id, :account_id, 'invoice.created', now(), "
        "'{\"data\": \"' || repeat('x', 750) || '\"}', NULL FROM generate_series(1, 3);",
        "INSERT INTO invoices (store_id, account_id, transaction_id, public_id, friendly_id, installment, "
        "number_of_installments, order_id, value_cents, paid_cents, status, observation, payment_link, "
        "postponement_count, due_at, original_due_at, created_at, updated_at, resolved_at) "
        "SELECT :store_id, :account_id, :tx_id, :tx_public || '-0' || k, substr(md5(:tx_public), 1, 8) || '-' || k, "
        f"k, 3, '', {INSTALLMENT_CENTS}, 0, 'Opened', NULL, NULL, 0, now() + k * interval '30 days', "
        "now() + k * interval '30 days', now(), now(), NULL FROM generate_series(1, 3) AS k RETURNING id;",
        "COMMIT;",
    ]
    # POST /accounts/{id}/invoices/{tx}-0k/payments, k = 1..3
    for installment in (1, 2, 3):
        lines += [
            "BEGIN;",
            f"SELECT {_INVOICE_COLUMNS}, accounts.public_id AS owner FROM invoices JOIN accounts ON "
            "accounts.id = invoices.account_id WHERE invoices.store_id = :store_id AND "
            f"invoices.public_id = :tx_public || '-0{installment}' \\gset inv_",
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = :account_id FOR UPDATE;",
            f"SELECT {_INVOICE_COLUMNS} FROM invoices WHERE invoices.id = :inv_id FOR UPDATE;",
            f"UPDATE accounts SET balance_cents = balance_cents + {INSTALLMENT_CENTS}, updated_at = now() "
            "WHERE id = :account_id;",
            _EVENT.format(type="invoice.paid", size=1000),
            f"UPDATE invoices SET paid_cents = {INSTALLMENT_CENTS}, status = 'Paid', updated_at = now(), "
            "resolved_at = now() WHERE id = :inv_id;",
            _ENTRY.format(origin="Payment", value=INSTALLMENT_CENTS),
            _store_config(),
            "COMMIT;",
        ]
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


def run(url: str, *, store_id: int, document_base: str, clients: int, duration_s: float,
        threads: int = 2) -> PgbenchResult:
    """pgbench with the cycle script, one client per account (document_base + client_id)."""
    workdir = Path(tempfile.mkdtemp(prefix="cc-pgbench-"))
    script = workdir / "cycle.sql"
    script.write_text(cycle_script())
    command = [
        "pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(threads, clients)),
        "-T", str(max(1, round(duration_s))), "-f", str(script), "-l", "--log-prefix", str(workdir / "log"),
        "-D", f"store_id={store_id}", "-D", f"document_base={document_base}",
        libpq_url(url),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=duration_s + 120)
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
    match = re.search(r"tps = ([\d.]+) \((?:without initial connection time|excluding connections establishing)\)", output)
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
    )


def _percentile(values: list[int], percent: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[int(percent) - 1]


def capture_cycle(url: str, *, account_public_id: str, app_key: str, app_token: str) -> list[str]:
    """Runs one purchase cycle through the app in this process and returns every SQL statement
    the service sent (transaction control left out)."""
    from sqlalchemy import event
    from starlette.testclient import TestClient

    from customer_credit.app import create_app
    from customer_credit.db.engine import Database
    from customer_credit.settings import Settings

    settings = Settings(database_url=url, secret_key="capture-" + "x" * 40, log_level="WARNING")
    database = Database(settings)
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(" ".join(statement.split()))

    for engine in {database.read_engine, database.write_engine}:
        event.listen(engine, "before_cursor_execute", record)
    headers = {"X-VTEX-API-AppKey": app_key, "X-VTEX-API-AppToken": app_token}
    base = f"/api/creditcontrol/accounts/{account_public_id}"
    amount = int(CYCLE_VALUE)

    def one_cycle(client) -> None:
        held = client.post(f"{base}/transactions", headers=headers,
                           json={"value": amount, "settle": True, "installments": 3})
        held.raise_for_status()
        transaction = held.json()["id"]
        client.put(f"{base}/transactions/{transaction}/settlement", headers=headers,
                   json={"value": amount}).raise_for_status()
        for installment in (1, 2, 3):
            client.post(f"{base}/invoices/{transaction}-0{installment}/payments",
                        headers=headers).raise_for_status()

    try:
        with TestClient(create_app(settings, database)) as client:
            one_cycle(client)  # warms every cache first: the second cycle is the steady one
            statements.clear()
            one_cycle(client)
    finally:
        database.dispose()
    return [s for s in statements if s.upper().rstrip(";") not in CONTROL]
