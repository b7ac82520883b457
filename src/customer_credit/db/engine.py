"""Engines and sessions.

On SQLite a write transaction starts with BEGIN IMMEDIATE (a second engine on the same file),
so writers queue on the database lock instead of failing when a read lock cannot be upgraded;
a process-wide lock keeps this process's writers from spinning on each other.

On PostgreSQL an optional streaming replica (`read_database_url`) serves the reads that may lag
(`read(replica=True)`: searches, exports, console lists); every write and every other read uses
the primary. Behind a transaction pooler (pgbouncer, pool_mode=transaction) psycopg prepares
no statements: a prepared statement belongs to one server connection, which the pooler hands to
other clients after each transaction. See docs/read-replica-and-pgbouncer.md.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from customer_credit.private_files import sqlite_path, touch_private_file
from customer_credit.settings import Settings


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


class DatabaseFileMissing(Exception):
    """Opening with create=False found no SQLite file where the URL points."""

    def __init__(self, path: Path):
        super().__init__(f"no database file at {path}")
        self.path = path


class Database:
    def __init__(self, settings: Settings, *, create: bool = True):
        """With create=False a missing SQLite file raises DatabaseFileMissing instead of being
        created empty (sqlite3 would create it on the first connection otherwise)."""
        self.settings = settings
        self.url = settings.database_url
        self.is_sqlite = settings.is_sqlite
        if self.is_sqlite:
            if create:
                self._prepare_sqlite_dir()
            else:
                self._require_sqlite_file()
            self.read_engine = self._sqlite_engine(begin="BEGIN")
            self.write_engine = self._sqlite_engine(begin="BEGIN IMMEDIATE")
        else:
            self.read_engine = self._postgresql_engine(self.url)
            self.write_engine = self.read_engine
        self.replica_engine: Engine | None = None
        if settings.read_database_url:
            if self.is_sqlite:
                raise ValueError("a read replica (read_database_url) needs PostgreSQL as the primary")
            self.replica_engine = self._postgresql_engine(settings.read_database_url)
        # A read sees one snapshot on PostgreSQL too (SQLite's read transaction already does):
        # under READ COMMITTED each statement sees the latest commits, so a page's balance and
        # its entries, or a search's summary and its rows, could disagree under concurrent writes.
        read_bind = (
            self.read_engine
            if self.is_sqlite
            else self.read_engine.execution_options(isolation_level="REPEATABLE READ")
        )
        self._read_sessions = sessionmaker(read_bind, expire_on_commit=False)
        # A read of one statement sees one snapshot without a transaction: on PostgreSQL it runs
        # in autocommit, which saves BEGIN and ROLLBACK (two round trips of three). SQLite keeps
        # its read transaction (no round trips there).
        self._statement_bind = (
            self.read_engine
            if self.is_sqlite
            else self.read_engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._statement_sessions = sessionmaker(self._statement_bind, expire_on_commit=False)
        self._replica_sessions = self._read_sessions
        if self.replica_engine is not None:
            # READ ONLY as well: should the URL point at a writable server by mistake, a write
            # sent through it still fails instead of landing beside the primary.
            replica_bind = self.replica_engine.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            self._replica_sessions = sessionmaker(replica_bind, expire_on_commit=False)
        self._write_sessions = sessionmaker(self.write_engine, expire_on_commit=False)
        self._sqlite_writer_lock = threading.Lock()

    def _prepare_sqlite_dir(self) -> None:
        path = sqlite_path(self.url)
        if path is not None:
            touch_private_file(path)

    def _require_sqlite_file(self) -> None:
        path = sqlite_path(self.url)
        if path is not None and not path.is_file():
            raise DatabaseFileMissing(path.absolute())

    def _postgresql_engine(self, url: str) -> Engine:
        connect_args = {"prepare_threshold": None} if self.settings.db_transaction_pooler else {}
        return create_engine(
            url,
            connect_args=connect_args,
            pool_size=self.settings.db_pool_size,
            # Only a request holding two sessions at once needs more; it never waits.
            max_overflow=10,
            pool_pre_ping=False,
            pool_recycle=3600,
        )

    def _sqlite_engine(self, *, begin: str) -> Engine:
        engine = create_engine(self.url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):
            # Let SQLAlchemy, not the driver, decide when transactions begin.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()
            # SQLite's lower() folds ASCII only ("Ç" stays "Ç"), so a case-insensitive search for
            # "ção" would miss "Ção"; Python's folds every script, as PostgreSQL's does.
            dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)

        @event.listens_for(engine, "begin")
        def _on_begin(connection):
            connection.exec_driver_sql(begin)

        return engine

    @contextmanager
    def read(self, *, replica: bool = False, single_statement: bool = False) -> Iterator[Session]:
        """One read snapshot. `replica=True`: from the read replica when one is configured, for
        reads that may lag the primary by the replica's replay delay (never a read that must see
        the caller's own last write). `single_statement=True` (primary only): for a read that
        sends one SELECT, or SELECTs that need not agree with each other; each then sees the
        latest commits, without a transaction on PostgreSQL."""
        if single_statement and not replica:
            sessions = self._statement_sessions
        else:
            sessions = self._replica_sessions if replica else self._read_sessions
        with sessions() as session:
            yield session
            session.rollback()

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """A plain connection (no ORM session) for a read of one statement on the primary, as
        `read(single_statement=True)` runs it."""
        with self._statement_bind.connect() as connection:
            yield connection

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        if self.is_sqlite:
            with self._sqlite_writer_lock, self._write_sessions() as session, session.begin():
                yield session
        else:
            with self._write_sessions() as session, session.begin():
                yield session

    def dispose(self) -> None:
        self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            self.write_engine.dispose()
        if self.replica_engine is not None:
            self.replica_engine.dispose()
