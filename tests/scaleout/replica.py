"""A streaming replica of the test PostgreSQL server, on this machine and a port of its own:
`pg_basebackup -R` from the primary into a new data directory, integrated as a Debian cluster
by `pg_createcluster`, started with `pg_ctlcluster`, and dropped with `pg_dropcluster --stop`.

The primary must accept a replication connection from 127.0.0.1 as postgres without a
password, as it accepts ordinary ones: when pg_hba.conf has no rule for replication at all,
one line (`host replication postgres 127.0.0.1/32 trust`) is appended and the configuration
reloaded. It needs root (to act as the postgres user and write the cluster's files)."""

import contextlib
import ipaddress
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from loadgen.server import free_port

REPLICATION_RULE = "host replication postgres 127.0.0.1/32 trust"
ORPHAN_PREFIX = "cc_replica_"
HOT_STANDBY_MINIMUMS = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)


class ReplicaUnavailable(Exception):
    """This machine cannot host a replica of the test server (the message says why)."""


@dataclass(frozen=True)
class Replica:
    version: str
    name: str
    port: int
    database: str

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{self.database}"

    @property
    def conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} dbname={self.database} user=postgres"

    def execute(self, sql: str):
        with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as connection:
            return connection.execute(sql).fetchall()


def _run(*command: str, timeout_s: float = 60) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr or done.stdout}")


def _first_replication_rule(admin: psycopg.Connection) -> tuple[str, str] | None:
    """(auth method, line) of the first pg_hba rule a replication connection from 127.0.0.1 as
    postgres would match, or None."""
    rules = admin.execute(
        "SELECT type, database, user_name, address, netmask, auth_method, line_number"
        " FROM pg_hba_file_rules WHERE error IS NULL ORDER BY line_number"
    ).fetchall()
    for kind, databases, users, address, netmask, method, line in rules:
        if kind not in ("host", "hostnossl") or "replication" not in databases:
            continue
        if not ({"all", "postgres"} & set(users)):
            continue
        if address not in ("all", "samehost", "samenet"):
            network = ipaddress.ip_network(f"{address}/{netmask}" if netmask else address, strict=False)
            if ipaddress.ip_address("127.0.0.1") not in network:
                continue
        return method, str(line)
    return None


def _allow_replication(admin: psycopg.Connection) -> None:
    found = _first_replication_rule(admin)
    if found is not None:
        method, line = found
        if method != "trust":
            raise ReplicaUnavailable(f"pg_hba.conf line {line} asks replication connections for {method}")
        return
    hba_file = Path(admin.execute("SHOW hba_file").fetchone()[0])
    try:
        with hba_file.open("a") as rules:
            rules.write(
                f"\n# Streaming replica of the test suite (tests/scaleout/replica.py)\n{REPLICATION_RULE}\n"
            )
    except OSError as error:
        raise ReplicaUnavailable(f"cannot add a replication rule to {hba_file}: {error}") from error
    admin.execute("SELECT pg_reload_conf()")
    deadline = time.monotonic() + 5
    while _first_replication_rule(admin) is None:
        if time.monotonic() > deadline:
            raise ReplicaUnavailable(f"{hba_file}: the replication rule did not take effect")
        time.sleep(0.05)


@contextlib.contextmanager
def streaming_replica(primary_url: str) -> Iterator[Replica]:
    """A running hot standby of the primary that `primary_url` points at (its database)."""
    target = make_url(primary_url)
    host, port = target.host or "127.0.0.1", target.port or 5432
    if host not in ("127.0.0.1", "localhost"):
        raise ReplicaUnavailable(f"the test server {host} is not on this machine")
    if os.geteuid() != 0:
        raise ReplicaUnavailable("creating a cluster needs root (to act as the postgres user)")
    admin_info = f"host={host} port={port} dbname=postgres user={target.username or 'postgres'}"
    with psycopg.connect(admin_info, autocommit=True, connect_timeout=5) as admin:
        version = str(int(admin.execute("SHOW server_version_num").fetchone()[0]) // 10000)
        # A hot standby refuses to start with less of these than its primary has.
        settings = "".join(
            f"{name} = {admin.execute(f'SHOW {name}').fetchone()[0]}\n" for name in HOT_STANDBY_MINIMUMS
        )
        _allow_replication(admin)
    _drop_orphans(version)
    name = f"{ORPHAN_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}"
    replica = Replica(version, name, free_port(), target.database)
    data_dir = Path(f"/var/lib/postgresql/{version}/{replica.name}")
    created = False
    try:
        # Made here, empty, for the postgres user (the version's folder may belong to root).
        data_dir.mkdir(mode=0o700)
        os.chown(data_dir, *_postgres_ids())
        _run(
            "runuser", "-u", "postgres", "--",
            f"/usr/lib/postgresql/{version}/bin/pg_basebackup",
            "-h", host, "-p", str(port), "-U", "postgres",
            "-D", str(data_dir), "-R", "-X", "stream", "--checkpoint=fast",
        )  # fmt: skip
        # An existing data directory is integrated (no initdb): pg_createcluster moves these
        # files to /etc/postgresql/VERSION/NAME. Passwordless from 127.0.0.1, as the primary.
        for name, content in (
            ("postgresql.conf", f"port = {replica.port}\nhot_standby = on\n{settings}"),
            ("pg_hba.conf", "local all all trust\nhost all all 127.0.0.1/32 trust\n"),
            ("pg_ident.conf", ""),
        ):
            (data_dir / name).write_text(content)
            os.chown(data_dir / name, *_postgres_ids())
        _run("pg_createcluster", version, replica.name, "-d", str(data_dir), "-p", str(replica.port))
        created = True
        _run("pg_ctlcluster", version, replica.name, "start")
        _wait_in_recovery(replica)
        yield replica
    finally:
        if created:
            _run("pg_dropcluster", "--stop", version, replica.name)
        elif data_dir.exists():
            _run("rm", "-rf", "--", str(data_dir))


def _drop_orphans(version: str) -> None:
    """Drops the replicas that a test run killed before its teardown left behind (their names
    carry the run's pid; a run still alive keeps its own)."""
    for conf in Path(f"/etc/postgresql/{version}").glob(f"{ORPHAN_PREFIX}*"):
        pid = conf.name.removeprefix(ORPHAN_PREFIX).split("_", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            subprocess.run(["pg_dropcluster", "--stop", version, conf.name], capture_output=True, timeout=60)


def _postgres_ids() -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


def _wait_in_recovery(replica: Replica, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if replica.execute("SELECT pg_is_in_recovery()") == [(True,)]:
                return
            raise RuntimeError("the replica is not in recovery: it would take writes")
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
