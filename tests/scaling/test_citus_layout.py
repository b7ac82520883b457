"""Sharding by store with Citus, checked against the schema (docs/scaling.md, "Distributing by
store with Citus"). Citus can only enforce a unique key or a foreign key between distributed
tables inside one shard, so every one of them must include the distribution column, store_id.

Every table is classed here: distributed by store_id, a reference table (copied to every node),
or a local table (left on the coordinator). Each distributed table must have store_id, and each
of its unique keys and foreign keys to other distributed tables must include it, except the
ones listed below, which are today's schema: the doc says what a Citus migration changes in
each. A new table, key or foreign key that is not scoped by store fails here until it is
scoped, or listed here and in the doc with its migration."""

from pathlib import Path

import pytest
from sqlalchemy import ForeignKeyConstraint, Index, MetaData, PrimaryKeyConstraint, Table, UniqueConstraint

import customer_credit.db.models  # noqa: F401 - registers every table
from customer_credit.db.base import Base

DOC = Path(__file__).resolve().parents[2] / "docs" / "scaling.md"
STORE = "store_id"

# Small tables read before the request's store is known, or by every store.
REFERENCE_TABLES = {
    "stores": "the tenants: every distributed table's store_id points here",
    "api_keys": "an app key is looked up before its store is known (authentication)",
    "operators": "an e-mail is looked up over every store at console sign-in",
}
# Plain tables on the coordinator, never joined with a distributed table.
LOCAL_TABLES = {
    "sign_in_counters": "sign-in attempts by e-mail and address, over every store",
    "operator_sessions": "found by the cookie's hash before the store is known",
    "secret_reveals": "found by the cookie's reveal id, for one browser session",
    "event_sequence": "the one global event counter (the event cursor)",
}
# Store-scoped data that has no store_id column today.
KNOWN_WITHOUT_STORE_ID = {"csv_import_rows", "overdue_notices", "webhook_deliveries"}
# A surrogate primary key `id` alone becomes (store_id, id) in the migration, on every
# distributed table alike; these are the other unique keys (primary keys, unique constraints
# and unique indexes) of distributed tables without store_id today.
KNOWN_UNSCOPED_UNIQUE_KEYS = {
    ("checkout_operations", "uq_checkout_operations_request"),
    ("csv_import_rows", "pk_csv_import_rows"),
    ("events", "uq_events_public_id"),
    ("events", "uq_events_seq"),
    ("holders", "uq_holders_public_id"),
    ("my_credits_links", "uq_my_credits_links_public_id"),
    ("my_credits_links", "uq_my_credits_links_token_sha256"),
    ("overdue_notices", "pk_overdue_notices"),
    ("reminders", "uq_reminders_trigger"),
    ("statements", "uq_statements_external_id"),
    ("transactions", "uq_transactions_late_fee"),
    ("webhook_deliveries", "uq_webhook_deliveries_event_endpoint"),
    ("webhook_endpoints", "uq_webhook_endpoints_public_id"),
}
# Foreign keys between distributed tables by the referenced id alone: each becomes
# (store_id, x_id) → x(store_id, id).
KNOWN_UNSCOPED_FOREIGN_KEYS = {
    ("balance_applications", "fk_balance_applications_account_id_accounts"),
    ("balance_applications", "fk_balance_applications_invoice_id_invoices"),
    ("checkout_operations", "fk_checkout_operations_payment_pk_checkout_payments"),
    ("checkout_payments", "fk_checkout_payments_account_id_accounts"),
    ("checkout_payments", "fk_checkout_payments_transaction_id_transactions"),
    ("csv_import_rows", "fk_csv_import_rows_import_id_csv_imports"),
    ("events", "fk_events_account_id_accounts"),
    ("holders", "fk_holders_account_id_accounts"),
    ("invoice_adjustments", "fk_invoice_adjustments_account_id_accounts"),
    ("invoice_adjustments", "fk_invoice_adjustments_invoice_id_invoices"),
    ("invoice_payments", "fk_invoice_payments_account_id_accounts"),
    ("invoice_payments", "fk_invoice_payments_invoice_id_invoices"),
    ("invoices", "fk_invoices_account_id_accounts"),
    ("invoices", "fk_invoices_transaction_id_transactions"),
    ("my_credits_links", "fk_my_credits_links_account_id_accounts"),
    ("overdue_notices", "fk_overdue_notices_invoice_id_invoices"),
    ("overdue_overrides", "fk_overdue_overrides_account_id_accounts"),
    ("reminders", "fk_reminders_account_id_accounts"),
    ("reminders", "fk_reminders_invoice_id_invoices"),
    ("statements", "fk_statements_account_id_accounts"),
    ("transactions", "fk_transactions_account_id_accounts"),
    ("transactions", "fk_transactions_late_fee_invoice_id_invoices"),
    ("webhook_deliveries", "fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
    ("webhook_deliveries", "fk_webhook_deliveries_event_id_events"),
}


def distributed(metadata: MetaData) -> list[Table]:
    return [
        table
        for name, table in sorted(metadata.tables.items())
        if name not in REFERENCE_TABLES and name not in LOCAL_TABLES
    ]


def unique_keys(table: Table) -> dict[str, tuple[str, ...]]:
    """Every key that makes rows unique: the primary key, unique constraints, unique indexes."""
    keys: dict[str, tuple[str, ...]] = {}
    for constraint in table.constraints:
        if isinstance(constraint, PrimaryKeyConstraint):
            # One name for it, whatever the ORM and the migrations called it.
            keys[f"pk_{table.name}"] = tuple(column.name for column in constraint.columns)
        elif isinstance(constraint, UniqueConstraint):
            keys[str(constraint.name)] = tuple(column.name for column in constraint.columns)
    for index in table.indexes:
        if isinstance(index, Index) and index.unique:
            keys[str(index.name)] = tuple(column.name for column in index.columns)
    return keys


def is_surrogate_primary_key(table: Table, name: str) -> bool:
    return name == f"pk_{table.name}" and tuple(column.name for column in table.primary_key) == ("id",)


def findings(metadata: MetaData) -> dict[str, set]:
    """What is not scoped by store today, by kind; names as the schema names them."""
    found: dict[str, set] = {
        "without_store_id": set(),
        "unique": set(),
        "foreign": set(),
        "to_distributed": set(),
    }
    distributed_names = {table.name for table in distributed(metadata)}
    for table in distributed(metadata):
        if STORE not in table.columns:
            found["without_store_id"].add(table.name)
        for name, columns in unique_keys(table).items():
            if STORE not in columns and not is_surrogate_primary_key(table, name):
                found["unique"].add((table.name, name))
        for constraint in table.constraints:
            if not isinstance(constraint, ForeignKeyConstraint):
                continue
            referred = constraint.referred_table.name
            if referred in distributed_names and STORE not in {column.name for column in constraint.columns}:
                found["foreign"].add((table.name, str(constraint.name)))
    for name in sorted(set(REFERENCE_TABLES) | set(LOCAL_TABLES)):
        for constraint in metadata.tables[name].constraints:
            if (
                isinstance(constraint, ForeignKeyConstraint)
                and constraint.referred_table.name in distributed_names
            ):
                found["to_distributed"].add((name, str(constraint.name)))
    return found


def test_every_table_is_distributed_reference_or_local():
    names = set(Base.metadata.tables)
    assert set(REFERENCE_TABLES) <= names and set(LOCAL_TABLES) <= names
    assert not set(REFERENCE_TABLES) & set(LOCAL_TABLES)
    distributed_names = {table.name for table in distributed(Base.metadata)}
    assert distributed_names >= KNOWN_WITHOUT_STORE_ID


def test_every_distributed_table_has_store_id():
    assert findings(Base.metadata)["without_store_id"] == KNOWN_WITHOUT_STORE_ID


def test_every_unique_key_of_a_distributed_table_includes_store_id():
    """A surrogate primary key `id` alone is the one shape allowed without the list: the
    migration turns all of them into (store_id, id)."""
    assert findings(Base.metadata)["unique"] == KNOWN_UNSCOPED_UNIQUE_KEYS


def test_every_foreign_key_between_distributed_tables_includes_store_id():
    assert findings(Base.metadata)["foreign"] == KNOWN_UNSCOPED_FOREIGN_KEYS


def test_no_reference_or_local_table_points_at_a_distributed_one():
    """Citus allows foreign keys from distributed to reference tables and between reference
    and local ones, never from a reference or local table to a distributed one."""
    assert findings(Base.metadata)["to_distributed"] == set()


def test_the_doc_names_every_table_class_and_every_known_gap():
    text = DOC.read_text(encoding="utf-8")
    listed = (
        set(REFERENCE_TABLES)
        | set(LOCAL_TABLES)
        | KNOWN_WITHOUT_STORE_ID
        | {name for _table, name in KNOWN_UNSCOPED_UNIQUE_KEYS if not name.startswith("pk_")}
        | {name for _table, name in KNOWN_UNSCOPED_FOREIGN_KEYS}
    )
    missing = sorted(name for name in listed if f"`{name}`" not in text)
    assert missing == [], f"docs/scaling.md does not say what happens to: {missing}"


@pytest.mark.postgresql_only
def test_the_migrated_postgresql_schema_has_the_same_gaps(postgresql_url):
    """The findings hold for what the migrations built, not only for the models."""
    from sqlalchemy import create_engine

    engine = create_engine(postgresql_url)
    try:
        reflected = MetaData()
        reflected.reflect(engine, only=list(Base.metadata.tables))
    finally:
        engine.dispose()

    def by_columns(metadata: MetaData) -> dict[str, set]:
        found = findings(metadata)
        keyed = {"without_store_id": found["without_store_id"], "to_distributed": found["to_distributed"]}
        keyed["unique"] = {
            (table, unique_keys(metadata.tables[table])[name]) for table, name in found["unique"]
        }
        keyed["foreign"] = {
            (table, tuple(column.name for column in _foreign_key(metadata.tables[table], name).columns))
            for table, name in found["foreign"]
        }
        return keyed

    assert by_columns(reflected) == by_columns(Base.metadata)


def _foreign_key(table: Table, name: str) -> ForeignKeyConstraint:
    return next(
        constraint
        for constraint in table.constraints
        if isinstance(constraint, ForeignKeyConstraint) and constraint.name == name
    )
