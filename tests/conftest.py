"""Fixtures shared by the whole suite.

Every run gets its own PostgreSQL database (created here, dropped at the end) and its own
SQLite file; each test then works in a fresh store (tenant), so tests never see each other's
rows. In CI (CI=true) the PostgreSQL half of the suite may not be skipped."""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from starlette.testclient import TestClient

from customer_credit.app import create_app
from customer_credit.auth.principal import Principal
from customer_credit.auth.resources import MAIN_ACCESS
from customer_credit.auth.service import create_key
from customer_credit.db.engine import Database
from customer_credit.db.migrate import upgrade
from customer_credit.settings import Settings
from customer_credit.stores.service import create_store
from tests.clock import FIXED_START, FrozenClock, frozen_clock  # noqa: F401 - a fixture for every test

PG_ADMIN_URL = os.environ.get(
    "CUSTOMER_CREDIT_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_admin_connection():
    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    try:
        admin = _pg_admin_connection()
    except psycopg.OperationalError as error:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and is not reachable: {error}")
        pytest.skip(f"PostgreSQL not reachable: {error}")
    name = f"cc_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    url = f"{base}/{name}"
    upgrade(url)
    yield url
    with _pg_admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'customer-credit.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request) -> str:
    return request.getfixturevalue(f"{request.param}_url")


def make_settings(url: str, tmp_dir: Path, **overrides) -> Settings:
    return Settings(
        database_url=url,
        data_dir=tmp_dir,
        secret_key="test-secret-key-" + "x" * 32,
        log_level="WARNING",
        # Many Databases live at once in a run; PostgreSQL allows 100 connections in all.
        **{"db_pool_size": 10, **overrides},
    )


@pytest.fixture(scope="session")
def settings(database_url, tmp_path_factory) -> Settings:
    return make_settings(database_url, tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def database(settings) -> Iterator[Database]:
    db = Database(settings)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def app(settings, database):
    """The app on a frozen clock from the start, so even a test that never asks for
    `frozen_clock` cannot depend on when the suite runs."""
    application = create_app(settings, database)
    application.state.clock = FrozenClock(FIXED_START)
    return application


@pytest.fixture(scope="session")
def http(app) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


class Store:
    """A fresh tenant: its id, name, and a way to mint keys."""

    def __init__(self, database: Database, http: TestClient):
        self.database = database
        self.http = http
        self.name = f"store-{uuid.uuid4().hex[:12]}"
        with database.write() as session:
            self.id = create_store(session, self.name).id

    def principal(self, resources=(MAIN_ACCESS,), name="tests@example.com") -> Principal:
        return Principal(store_id=self.id, name=name, resources=frozenset(resources))

    def api(self, resources=(MAIN_ACCESS,)) -> "Api":
        with self.database.write() as session:
            from customer_credit.stores.models import Store as StoreRow

            issued = create_key(session, session.get(StoreRow, self.id), list(resources))
        return Api(
            self.http,
            {"X-VTEX-API-AppKey": issued.app_key, "X-VTEX-API-AppToken": issued.app_token},
            self,
        )


class Api:
    """An HTTP client bound to one credential. Paths are relative to /api/creditcontrol."""

    prefix = "/api/creditcontrol"

    def __init__(self, http: TestClient, headers: dict[str, str], store: Store):
        self.http = http
        self.headers = headers
        self.store = store

    def request(self, method: str, path: str, *, headers=None, **kwargs):
        absolute = path.startswith(("/api/", "/healthz", "/readyz", "/docs", "/openapi.json", "/admin"))
        url = path if absolute else self.prefix + path
        return self.http.request(method, url, headers={**self.headers, **(headers or {})}, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def store(database, http) -> Store:
    return Store(database, http)


@pytest.fixture
def api(store) -> Api:
    return store.api()


@pytest.fixture
def other_api(database, http) -> Api:
    """Main Access on a second store: must never see the first store's rows."""
    return Store(database, http).api()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "postgresql_only: runs on PostgreSQL alone (its SQLite variant is not collected)"
    )


def pytest_collection_modifyitems(config, items):
    """Drops the SQLite variant of tests marked postgresql_only, so that a skip in the report is
    never mistaken for a skipped PostgreSQL test."""
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if item.get_closest_marker("postgresql_only") and params.get("database_url") == "sqlite":
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
