"""Databases for the benchmarks: created, migrated and filled by `customer-credit demo`'s
loader; keys, dedicated accounts and request samples taken from them."""

import os
import random
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import psycopg
from sqlalchemy import bindparam, text

from customer_credit.auth.principal import Principal
from customer_credit.auth.resources import MAIN_ACCESS
from customer_credit.db.engine import Database
from customer_credit.db.migrate import upgrade
from customer_credit.settings import Settings

PG_ADMIN_URL = os.environ.get(
    "CUSTOMER_CREDIT_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
STORE = "bench"
CYCLE_VALUE = "30"


def pg_url(name: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}"


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def create_pg_database(name: str) -> str:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = pg_url(name)
    upgrade(url)
    return url


def drop_pg_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_sqlite_database(path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


def database(url: str) -> Database:
    return Database(Settings(database_url=url, db_pool_size=2, log_level="WARNING"))


def server_version(url: str) -> str:
    db = database(url)
    try:
        with db.read() as session:
            if db.is_sqlite:
                return "SQLite " + session.execute(text("select sqlite_version()")).scalar()
            return session.execute(text("show server_version")).scalar().split()[0]
    finally:
        db.dispose()


@dataclass
class Dataset:
    """A filled database and what the scenarios need from it."""

    url: str
    label: str
    accounts: int
    invoices: int
    load_seconds: float
    load_rows: int
    statistics_seconds: float
    store_id: int
    app_key: str
    app_token: str
    read_pairs: list[tuple[str, str]]
    cycle_accounts: list[str]
    pgbench_accounts: list[str]
    hot_account: str
    searches: dict[str, list[str]]

    @property
    def headers(self) -> dict[str, str]:
        return {"X-VTEX-API-AppKey": self.app_key, "X-VTEX-API-AppToken": self.app_token}

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


def fill(url: str, label: str, *, accounts: int, invoices: int, seed: int, customers: int) -> Dataset:
    """Loads the demo book into store `bench`, then makes a key, `customers` fresh accounts for
    the purchase cycle (and as many for pgbench), one for the hot-account run, and samples."""
    from customer_credit.auth.service import create_key
    from customer_credit.demo.service import load_demo
    from customer_credit.stores.service import get_store

    db = database(url)
    try:
        started = time.perf_counter()
        report = load_demo(db, store_name=STORE, accounts=accounts, invoices=invoices, seed=seed)
        seconds = time.perf_counter() - started
        with db.write() as session:
            store = get_store(session, STORE)
            issued = create_key(session, store, [MAIN_ACCESS], "benchmarks")
        principal = Principal(
            store_id=report.store_id, name="bench@example.com", resources=frozenset([MAIN_ACCESS])
        )
        cycle = _open_accounts(db, principal, "71", customers)
        pgbench = _open_accounts(db, principal, "72", customers)
        hot = _open_accounts(db, principal, "73", 1)[0]
        rng = random.Random(seed)
        pairs = _read_pairs(db, report.store_id, rng)
        searches = _searches(db, report.store_id, rng, pairs)
        return Dataset(
            url=url,
            label=label,
            accounts=report.accounts,
            invoices=report.invoices,
            load_seconds=seconds,
            load_rows=report.rows(),
            statistics_seconds=report.statistics_seconds,
            store_id=report.store_id,
            app_key=issued.app_key,
            app_token=issued.app_token,
            read_pairs=pairs,
            cycle_accounts=cycle,
            pgbench_accounts=pgbench,
            hot_account=hot,
            searches=searches,
        )
    finally:
        db.dispose()


def pgbench_document(prefix: str, index: int) -> str:
    return f"{prefix}{index:09d}"


def _open_accounts(db: Database, principal: Principal, prefix: str, count: int) -> list[str]:
    """Accounts with room for hours of cycles, opened through the service like any other."""
    from customer_credit.accounts.service import open_account

    opened = []
    with db.write() as session:
        for index in range(count):
            account = open_account(
                session,
                principal,
                document=pgbench_document(prefix, index),
                document_type="CPF",
                email=f"bench-{prefix}-{index}-{uuid.uuid4().hex[:6]}@example.com",
                credit_limit=Decimal("100000000"),
            )
            opened.append(account.public_id)
    return opened


def _read_pairs(db: Database, store_id: int, rng: random.Random, size: int = 2000) -> list[tuple[str, str]]:
    with db.read() as session:
        total = (
            session.execute(
                text("select max(id) from invoices where store_id = :s"), {"s": store_id}
            ).scalar()
            or 0
        )
        low = (
            session.execute(
                text("select min(id) from invoices where store_id = :s"), {"s": store_id}
            ).scalar()
            or 0
        )
        ids = [rng.randint(low, total) for _ in range(size)] if total else []
        rows = session.execute(
            text(
                "select a.public_id, i.public_id from invoices i join accounts a on a.id = i.account_id "
                "where i.store_id = :s and i.id in :ids"
            ).bindparams(bindparam("ids", expanding=True)),
            {"s": store_id, "ids": ids or [0]},
        ).all()
    return [(row[0], row[1]) for row in rows]


def _searches(
    db: Database, store_id: int, rng: random.Random, pairs: list[tuple[str, str]]
) -> dict[str, list[str]]:
    """Request paths for each search of the scenario table, with their summary."""
    base = "/api/creditcontrol/invoices"
    with db.read() as session:
        friendly = [
            row[0]
            for row in session.execute(
                text("select friendly_id from invoices where store_id = :s order by random() limit 1000"),
                {"s": store_id},
            )
        ]
        references = [
            row[0]
            for row in session.execute(
                text(
                    "select observation from invoices where store_id = :s and observation is not null "
                    "order by random() limit 1000"
                ),
                {"s": store_id},
            )
        ]
    accounts = [account for account, _invoice in pairs]
    today = date.today()
    windows = []
    for _ in range(200):
        start = today + timedelta(days=rng.randint(-360, 330))
        windows.append((start, start + timedelta(days=29)))
    reference_numbers = [obs.rsplit(" ", 1)[-1] for obs in references if obs.rsplit(" ", 1)[-1].isdigit()]
    words = ["segunda via", "nota fiscal", "PIX", "financeiro"]
    return {
        "by account": [f"{base}?creditAccountId={quote(a)}" for a in accounts[:500]],
        "status + due-date range": [
            f"{base}?status={rng.choice(['Opened', 'Paid'])}&dueDateFrom={a}&dueDateTo={b}"
            for a, b in windows
        ],
        "friendlyId": [f"{base}?friendlyId={quote(f)}" for f in friendly],
        "observation substring (a reference number)": [f"{base}?observation={n}" for n in reference_numbers],
        "op=or (friendlyId or creditAccountId)": [
            f"{base}?friendlyId={quote(rng.choice(friendly))}&creditAccountId={quote(a)}&op=or"
            for a in accounts[:500]
        ]
        if friendly
        else [],
        "unfiltered": [base, f"{base}?from=21&to=40", f"{base}?from=101&to=200"],
        "observation substring (a common phrase)": [f"{base}?observation={quote(w)}" for w in words],
    }


class Backends:
    """Lists the PostgreSQL server processes serving a database (none for SQLite), over one
    connection of its own to the `postgres` database, so asking often costs little."""

    def __init__(self, url: str):
        self.name = None if url.startswith("sqlite") else url.rsplit("/", 1)[-1]
        self._admin = None

    def __call__(self) -> list[int]:
        if self.name is None:
            return []
        if self._admin is None:
            self._admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
        rows = self._admin.execute(
            "select pid from pg_stat_activity where datname = %s and pid <> pg_backend_pid()", (self.name,)
        ).fetchall()
        return [row[0] for row in rows]

    def started_within(self, seconds: float) -> int | None:
        """Client connections to the database opened in the last `seconds` (None for SQLite): in
        steady state a pool sized to the concurrency opens none."""
        if self.name is None:
            return None
        if self._admin is None:
            self._admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
        row = self._admin.execute(
            "select count(*) from pg_stat_activity where datname = %s and backend_type = 'client backend' "
            "and pid <> pg_backend_pid() and backend_start > now() - make_interval(secs => %s)",
            (self.name, seconds),
        ).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None


def check(url: str, *, store_id: int | None = None, account: str | None = None) -> int:
    """`customer-credit check`'s count of mismatches: the whole database, or one open account."""
    from customer_credit.ledger.service import recompute_mismatches

    db = database(url)
    try:
        with db.read() as session:
            if account is None:
                return len(recompute_mismatches(session))
            account_id = session.execute(
                text("select id from accounts where store_id = :s and public_id = :p and status = 'Open'"),
                {"s": store_id, "p": account},
            ).scalar_one()
            return len(recompute_mismatches(session, store_id, account_id=account_id))
    finally:
        db.dispose()


def scalar(url: str, sql: str, **params):
    db = database(url)
    try:
        with db.read() as session:
            return session.execute(text(sql), params).scalar()
    finally:
        db.dispose()


def write_lines(path: Path, lines) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path
