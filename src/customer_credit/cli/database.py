"""The configured database, opened for a command without ever creating it: run in the wrong
folder, a command names the place it looked instead of leaving an empty
./var/customer-credit.db behind. Only the commands that migrate (db upgrade, first-run,
serve, demo) create a database, through the migrations."""

from typing import TYPE_CHECKING

from customer_credit.private_files import sqlite_path
from customer_credit.settings import get_settings

if TYPE_CHECKING:  # SQLAlchemy is imported by the commands that open a database, not by --help
    from sqlalchemy.exc import SQLAlchemyError

    from customer_credit.db.engine import Database

HOW_TO_POINT_ELSEWHERE = (
    "point CUSTOMER_CREDIT_DATABASE_URL at your database (and CUSTOMER_CREDIT_DATA_DIR at its data "
    "folder), or create one with `customer-credit first-run` (`make run` in a checkout)"
)


class DatabaseUnusable(Exception):
    """The configured database is missing or has not the schema of this version."""


def open_database() -> "Database":
    from customer_credit.db.engine import Database, DatabaseFileMissing

    settings = get_settings()
    try:
        database = Database(settings, create=False)
    except DatabaseFileMissing as missing:
        raise DatabaseUnusable(f"no database at {missing.path}; {HOW_TO_POINT_ELSEWHERE}") from None
    problem = _schema_problem(database)
    if problem is not None:
        database.dispose()
        raise DatabaseUnusable(problem)
    return database


def where(url: str) -> str:
    """The database a URL names, for a message: the absolute file, or the URL without password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    path = sqlite_path(url)
    if path is not None:
        return str(path.absolute())
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "the configured database"


def describe_error(error: "SQLAlchemyError") -> str:
    """One line: which database, and the driver's first line (SQLAlchemy's own message adds
    the statement, its parameters and a link)."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return f"database {where(get_settings().database_url)}: {lines[0] if lines else type(cause).__name__}"


def _schema_problem(database: "Database") -> str | None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from customer_credit.db.migrate import alembic_config

    with database.read_engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current is None:
        return f"the database at {where(database.url)} has no schema; {HOW_TO_POINT_ELSEWHERE}"
    latest = ScriptDirectory.from_config(alembic_config(database.url)).get_current_head()
    if current != latest:
        return (
            f"the database at {where(database.url)} is at schema {current}, this version needs "
            f"{latest}: run `customer-credit db upgrade`"
        )
    return None
