"""The migrations build exactly the schema the models describe, on both databases: a model
change without its migration (or a migration that drifts from its model) fails here, not on a
customer's upgrade. Alembic's autogenerate comparison, run against the test run's database."""

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import customer_credit.db.models  # noqa: F401 - registers every table
from customer_credit.db.base import Base

# SQLite cannot express or reflect these, so the comparison always reports them there:
# the foreign key added with ALTER after both tables exist (use_alter), and PostgreSQL-only
# expression indexes (pg_trgm).
SQLITE_BLIND_SPOTS = {("add_fk", "transactions", "late_fee_invoice_id")}


def _differences(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "skipping expression-based index" on SQLite
            return compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()


def _describe(difference) -> tuple:
    if isinstance(difference, tuple) and difference and difference[0] == "add_fk":
        constraint = difference[1]
        return ("add_fk", constraint.parent.name, *[column.name for column in constraint.columns])
    return (repr(difference),)


def test_postgresql_migrations_match_the_models(postgresql_url):
    assert _differences(postgresql_url) == []


def test_sqlite_migrations_match_the_models(sqlite_url):
    found = {_describe(difference) for difference in _differences(sqlite_url)}
    assert found <= SQLITE_BLIND_SPOTS, found - SQLITE_BLIND_SPOTS
