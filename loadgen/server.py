"""A real server process for end-to-end tests and benchmarks.

`ServerProcess` runs `customer-credit serve` (uvicorn, one process) on a free local port against
a given database, waits for /readyz, and can be stopped gently or killed with SIGKILL and
started again on the same port. `provision` creates a store and a Main Access key directly in
the database, as an operator would with the CLI. `scratch_postgresql` creates and drops a
PostgreSQL database of its own (for the benchmark, which runs outside pytest)."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

SECRET_KEY = "e2e-secret-key-" + "y" * 40
PG_ADMIN_URL = os.environ.get(
    "CUSTOMER_CREDIT_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve_command() -> list[str]:
    script = Path(sys.executable).with_name("customer-credit")
    if script.exists():
        return [str(script), "serve"]
    return [sys.executable, "-c", "from customer_credit.cli import main; main()", "serve"]


class ServerProcess:
    """One `customer-credit serve` process; restartable on the same port after a kill."""

    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        *,
        port: int | None = None,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
    ):
        self.database_url = database_url
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.extra_env = env or {}
        self.log_path = log_path or self.data_dir / "server.log"
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.kills = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "CUSTOMER_CREDIT_DATABASE_URL": self.database_url,
                "CUSTOMER_CREDIT_DATA_DIR": str(self.data_dir),
                "CUSTOMER_CREDIT_SECRET_KEY": SECRET_KEY,
                "CUSTOMER_CREDIT_LOG_LEVEL": "WARNING",
                "CUSTOMER_CREDIT_WORKERS": "1",
                "CUSTOMER_CREDIT_RATE_LIMIT_PER_SECOND": "0",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout_s: float = 60.0) -> "ServerProcess":
        assert self.process is None or self.process.poll() is not None, "already running"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        log.write(f"--- start {self.starts + 1} ---\n".encode())
        log.flush()
        self.process = subprocess.Popen(
            [*_serve_command(), "--host", "127.0.0.1", "--port", str(self.port), "--no-upgrade-db"],
            env=self._env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.starts += 1
        self._wait_ready(timeout_s)
        return self

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base_url + "/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server was not ready within {timeout_s} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, open transactions die with the connection."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
            self.kills += 1

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


@dataclass(frozen=True)
class Credential:
    store_id: int
    store_name: str
    headers: dict[str, str]


def provision(database_url: str, data_dir: Path, store_name: str | None = None) -> Credential:
    """A new store and a Main Access key for it, written straight to the database."""
    from customer_credit.auth.resources import MAIN_ACCESS
    from customer_credit.auth.service import create_key
    from customer_credit.db.engine import Database
    from customer_credit.settings import Settings
    from customer_credit.stores.service import create_store

    name = store_name or f"e2e-{uuid.uuid4().hex[:12]}"
    database = Database(Settings(database_url=database_url, data_dir=Path(data_dir), secret_key=SECRET_KEY))
    try:
        with database.write() as session:
            store = create_store(session, name)
            issued = create_key(session, store, [MAIN_ACCESS], "e2e")
            store_id = store.id
    finally:
        database.dispose()
    return Credential(
        store_id=store_id,
        store_name=name,
        headers={"X-VTEX-API-AppKey": issued.app_key, "X-VTEX-API-AppToken": issued.app_token},
    )


def open_database(database_url: str, data_dir: Path):
    from customer_credit.db.engine import Database
    from customer_credit.settings import Settings

    return Database(Settings(database_url=database_url, data_dir=Path(data_dir), secret_key=SECRET_KEY))


@contextlib.contextmanager
def scratch_postgresql(prefix: str = "cc_e2e") -> Iterator[str]:
    """Creates a migrated PostgreSQL database of its own and drops it afterwards."""
    import psycopg

    from customer_credit.db.migrate import upgrade

    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    url = f"{base}/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def scratch_sqlite(directory: Path) -> str:
    from customer_credit.db.migrate import upgrade

    directory.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{directory / f'cc-e2e-{uuid.uuid4().hex[:8]}.db'}"
    upgrade(url)
    return url
