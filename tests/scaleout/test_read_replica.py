"""CUSTOMER_CREDIT_READ_DATABASE_URL against a real streaming replica of the test server: with
the replica's replay paused, what the replica serves (searches, statements lists, the aging
report, console lists and CSV exports) stays behind, while every write and every read of one
resource (account, invoice, console account page) sees the primary at once; after the replay
resumes, the searches catch up. Nothing but reads ever reaches the replica."""

import time
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from starlette.testclient import TestClient

from customer_credit.app import create_app
from customer_credit.db.engine import Database
from customer_credit.users import service as users
from tests.conftest import IN_CI, Store, make_settings
from tests.console.support import signed_in
from tests.helpers import open_account, purchase
from tests.scaleout.replica import Replica, ReplicaUnavailable, streaming_replica
from tests.scaleout.support import require_tool

READS = ("SELECT", "SHOW", "BEGIN", "ROLLBACK", "COMMIT")


@pytest.fixture(scope="module")
def replica(postgresql_url) -> Iterator[Replica]:
    require_tool("pg_createcluster", "postgresql-common")
    try:
        with streaming_replica(postgresql_url) as running:
            yield running
    except ReplicaUnavailable as why:
        if IN_CI:
            pytest.fail(f"a streaming replica is required in CI: {why}")
        pytest.skip(str(why))


class Routed:
    """An app whose Database has the replica as its read replica, and the SQL each one ran."""

    def __init__(self, postgresql_url: str, replica: Replica, tmp_path):
        self.database = Database(make_settings(postgresql_url, tmp_path, read_database_url=replica.url))
        self.app = create_app(self.database.settings, self.database)
        self.on_replica: list[str] = []
        assert self.database.replica_engine is not None
        event.listen(self.database.replica_engine, "before_cursor_execute", self._record)

    def _record(self, _connection, _cursor, statement, *_args) -> None:
        self.on_replica.append(statement)


@pytest.fixture(scope="module")
def routed(postgresql_url, replica, tmp_path_factory) -> Iterator[Routed]:
    users.configure_hasher(time_cost=1, memory_kib=1024)  # one cheap sign-in
    app = Routed(postgresql_url, replica, tmp_path_factory.mktemp("routed"))
    try:
        yield app
    finally:
        app.database.dispose()
        users.configure_hasher()


def mark_the_wal(database: Database) -> str:
    """Writes a record into the primary's WAL (and commits, so it is flushed and streamed);
    returns the position right after it, which the replica reaches once it has replayed it."""
    with database.write() as session:
        return str(
            session.execute(
                text("SELECT pg_logical_emit_message(true, 'customer-credit-tests', 'mark')")
            ).scalar()
        )


def wait_replayed(replica: Replica, database: Database, timeout_s: float = 15) -> None:
    """Until the replica has replayed everything the primary committed so far."""
    mark = mark_the_wal(database)
    deadline = time.monotonic() + timeout_s
    while replica.execute(f"SELECT pg_last_wal_replay_lsn() >= '{mark}'::pg_lsn") != [(True,)]:
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.02)


def pause_replay(replica: Replica, database: Database) -> None:
    replica.execute("SELECT pg_wal_replay_pause()")
    deadline = time.monotonic() + 10
    while replica.execute("SELECT pg_get_wal_replay_pause_state()") != [("paused",)]:
        assert time.monotonic() < deadline, "the replay did not pause"
        mark_the_wal(database)  # the replay pauses at its next record: give it one
        time.sleep(0.02)


def count_of(response) -> int:
    assert response.status_code == 200, response.text
    return response.json()["summary"]["count"]


@pytest.mark.slow
@pytest.mark.postgresql_only
def test_searches_lists_and_exports_read_the_replica_writes_and_single_reads_the_primary(routed, replica):
    with TestClient(routed.app, raise_server_exceptions=False) as http:
        store = Store(routed.database, http)
        api = store.api()
        console = signed_in(routed.app, store)
        first = open_account(api, credit_limit="1000")
        purchase(api, first["id"], "100", installments=2)
        wait_replayed(replica, routed.database)
        entries = api.get(f"/accounts/{first['id']}/statements").json()["count"]
        aging_total = Decimal(str(api.get("/aging").json()["summary"]["total"]))
        assert count_of(api.get(f"/accounts/{first['id']}/invoices")) == 2
        routed.on_replica.clear()

        pause_replay(replica, routed.database)
        try:
            # Writes go to the primary (the replica is read-only, and behind).
            second = open_account(api, credit_limit="500")
            raised = api.put(f"/accounts/{first['id']}/creditlimit", json={"value": "2000"})
            assert raised.status_code == 200, raised.text
            purchase(api, first["id"], "60")
            # A read of one resource sees the client's own last write at once.
            assert api.get(f"/accounts/{second['id']}").status_code == 200
            assert Decimal(str(api.get(f"/accounts/{first['id']}").json()["creditLimit"])) == 2000
            assert console.get(f"/admin/accounts/{second['id']}").status_code == 200

            # What the replica serves lags.
            assert count_of(api.get("/accounts", params={"email": second["email"]})) == 0
            assert count_of(api.get(f"/accounts/{first['id']}/invoices")) == 2
            assert count_of(api.get("/invoices")) == 2
            assert api.get(f"/accounts/{first['id']}/statements").json()["count"] == entries
            assert Decimal(str(api.get("/aging").json()["summary"]["total"])) == aging_total
            listed = console.get("/admin/accounts", params={"q": second["email"]})
            assert listed.status_code == 200 and second["id"] not in listed.text
            exported = console.get("/admin/export/accounts.csv")
            assert exported.status_code == 200 and first["id"] in exported.text
            assert second["id"] not in exported.text
        finally:
            replica.execute("SELECT pg_wal_replay_resume()")

        wait_replayed(replica, routed.database)
        assert count_of(api.get("/accounts", params={"email": second["email"]})) == 1
        assert count_of(api.get(f"/accounts/{first['id']}/invoices")) == 3
        assert api.get(f"/accounts/{first['id']}/statements").json()["count"] > entries
        assert second["id"] in console.get("/admin/export/accounts.csv").text

    assert routed.on_replica, "nothing was read from the replica"
    writes = [sql for sql in routed.on_replica if not sql.lstrip().upper().startswith(READS)]
    assert writes == []


@pytest.mark.slow
@pytest.mark.postgresql_only
def test_a_write_through_a_replica_session_is_refused(routed):
    with routed.database.read(replica=True) as session:
        assert session.execute(text("SELECT pg_is_in_recovery()")).scalar() is True
        with pytest.raises(DBAPIError) as refused:
            session.execute(text("CREATE TABLE never_here (id integer)"))
    assert isinstance(refused.value.orig, psycopg.errors.ReadOnlySqlTransaction)


def test_a_read_replica_needs_postgresql(tmp_path):
    settings = make_settings(
        f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path, read_database_url="postgresql://x/y"
    )
    with pytest.raises(ValueError, match="needs PostgreSQL"):
        Database(settings)
