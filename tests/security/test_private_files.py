"""The embedded database and the secret files are owner-only from the moment they exist."""

import os
import stat

import pytest
from typer.testing import CliRunner

from customer_credit import cli, private_files
from customer_credit.db.engine import Database
from customer_credit.db.migrate import upgrade
from tests.conftest import make_settings


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask():
    """A permissive umask, as on many machines: files would be world-readable by default."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_sqlite_file_is_created_owner_only_by_the_migrations(tmp_path, open_umask):
    database_file = tmp_path / "data" / "customer-credit.db"
    upgrade(f"sqlite:///{database_file}")
    assert mode(database_file) == 0o600
    assert mode(database_file.parent) == 0o700


def test_sqlite_file_and_its_wal_are_owner_only_when_the_service_opens_it(tmp_path, open_umask):
    database_file = tmp_path / "fresh" / "customer-credit.db"
    settings = make_settings(f"sqlite:///{database_file}", tmp_path)
    database = Database(settings)
    try:
        assert mode(database_file) == 0o600
        upgrade(settings.database_url)
        with database.write() as session:
            session.connection().exec_driver_sql("SELECT 1")
        for companion in (
            database_file.with_name(database_file.name + suffix) for suffix in ("-wal", "-shm")
        ):
            if companion.exists():
                assert mode(companion) == 0o600, companion
    finally:
        database.dispose()


def test_generated_secret_key_is_owner_only(tmp_path, open_umask):
    settings = make_settings("sqlite://", tmp_path / "var")
    settings.secret_key = ""
    key = settings.resolved_secret_key()
    assert len(key) > 40
    assert mode(tmp_path / "var" / "secret.key") == 0o600


def test_a_secret_is_never_in_a_readable_file_even_for_a_moment(tmp_path, open_umask, monkeypatch):
    """The rename is the only moment the target appears; the temporary file is 0600 before any
    byte of the secret is written into it."""
    seen_modes = []
    real_fdopen = os.fdopen

    def watching_fdopen(descriptor, *args, **kwargs):
        seen_modes.append(stat.S_IMODE(os.fstat(descriptor).st_mode))
        return real_fdopen(descriptor, *args, **kwargs)

    monkeypatch.setattr(private_files.os, "fdopen", watching_fdopen)
    target = tmp_path / "keys" / "first-run-key.json"
    private_files.write_private_text(target, '{"appToken": "s3cr3t"}')
    assert seen_modes == [0o600]
    assert mode(target) == 0o600
    assert target.read_text() == '{"appToken": "s3cr3t"}'
    assert [path.name for path in target.parent.iterdir()] == [target.name]


def test_first_run_writes_its_key_and_operator_files_owner_only(tmp_path, open_umask):
    env = {
        "CUSTOMER_CREDIT_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'customer-credit.db'}",
        "CUSTOMER_CREDIT_DATA_DIR": str(tmp_path / "var"),
        "CUSTOMER_CREDIT_LOG_LEVEL": "WARNING",
    }
    cli.get_settings.cache_clear()
    try:
        outcome = CliRunner().invoke(cli.app, ["first-run"], env=env)
    finally:
        cli.get_settings.cache_clear()
    assert outcome.exit_code == 0, outcome.output
    written = sorted(path for path in (tmp_path / "var").iterdir() if path.is_file())
    assert any(path.name == "customer-credit.db" for path in written)
    secrets = [path for path in written if path.suffix == ".json" or path.name.endswith((".db", ".key"))]
    assert len([path for path in secrets if path.suffix == ".json"]) == 2, written
    for path in secrets:
        assert mode(path) == 0o600, path
