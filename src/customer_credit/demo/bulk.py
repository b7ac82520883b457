"""The bulk path: rows straight into the tables, COPY on PostgreSQL, one prepared multi-row
INSERT per table and batch on SQLite, inside the caller's write transaction.

It checks no rule: it is only for writers whose rows are already consistent with the domain
(see demo/service.py, which builds them with the same helpers the services use). Rows are
tuples in the order of `COLUMNS[table]`; datetimes are naive UTC, JSON columns are JSON text.
The stores' invoice totals follow the rows through the triggers on `invoices`
(invoices/totals.py), except where this path turns triggers off: then it adds each batch's
totals itself, in the same transaction.
"""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from customer_credit.db.base import UtcDateTime
from customer_credit.db.models import Base
from customer_credit.invoices import totals

COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts": (
        "id",
        "store_id",
        "public_id",
        "document",
        "document_type",
        "email",
        "description",
        "credit_limit_cents",
        "tolerance_units",
        "initial_credit_limit_cents",
        "initial_tolerance_units",
        "balance_cents",
        "pre_authorized_cents",
        "status",
        "created_at",
        "updated_at",
        "closed_at",
    ),
    "holders": ("store_id", "account_id", "public_id", "email", "level", "created_at", "removed_at"),
    "transactions": (
        "id",
        "store_id",
        "account_id",
        "public_id",
        "order_id",
        "settle",
        "installments",
        "hold_cents",
        "original_hold_cents",
        "settled_cents",
        "refunded_cents",
        "refund_excess_cents",
        "friendly_prefix",
        "status",
        "expires_at",
        "created_at",
        "updated_at",
        "settled_at",
    ),
    "invoices": (
        "store_id",
        "account_id",
        "transaction_id",
        "public_id",
        "friendly_id",
        "installment",
        "number_of_installments",
        "order_id",
        "value_cents",
        "paid_cents",
        "status",
        "observation",
        "payment_link",
        "postponement_count",
        "due_at",
        "original_due_at",
        "created_at",
        "updated_at",
        "resolved_at",
    ),
    "statements": (
        "store_id",
        "account_id",
        "origin",
        "value_cents",
        "done_by",
        "metadata",
        "external_id",
        "created_at",
    ),
}
_INVOICE_TOTALS_POSITIONS = {
    "store_position": COLUMNS["invoices"].index("store_id"),
    "status_position": COLUMNS["invoices"].index("status"),
    "value_position": COLUMNS["invoices"].index("value_cents"),
}
# Parents before children, so foreign keys always point at rows already written.
TABLE_ORDER = ("accounts", "holders", "transactions", "invoices", "statements")
# SQLite allows 32,766 bound parameters per statement (since 3.32); stay well under it.
SQLITE_MAX_PARAMETERS = 30_000


class BulkWriter:
    """Writes rows of one batch in the session's current transaction."""

    def __init__(self, session: Session):
        self.session = session
        driver = session.connection().connection.driver_connection
        if driver is None:  # the pool has detached or invalidated the DBAPI connection
            raise RuntimeError("the session's database connection is no longer open")
        self.driver = driver

    def reserve_ids(self, table: str, count: int) -> list[int]:
        raise NotImplementedError

    def write(self, table: str, rows: Sequence[tuple]) -> None:
        raise NotImplementedError

    @staticmethod
    def for_session(session: Session) -> "BulkWriter":
        if session.get_bind().dialect.name == "postgresql":
            return PostgresWriter(session)
        return SqliteWriter(session)


class PostgresWriter(BulkWriter):
    def __init__(self, session: Session):
        super().__init__(session)
        # A loader's batch may be lost in a crash (it is re-run), never half-applied.
        session.execute(text("SET LOCAL synchronous_commit = off"))
        self.triggers_off = session.execute(text("SHOW is_superuser")).scalar() == "on"
        if self.triggers_off:
            # Like pg_restore --disable-triggers: skips the foreign-key checks (a fifth of the
            # load's time). Safe here only because every row points at a parent written
            # before it in the same transaction or already in the table (ids are reserved from
            # the sequences). Other roles keep the checks. It turns off the invoice totals'
            # triggers as well: `write` adds the totals of the invoices it copies.
            session.execute(text("SET LOCAL session_replication_role = replica"))

    def reserve_ids(self, table: str, count: int) -> list[int]:
        """Takes `count` values of the table's id sequence, as concurrent inserts would."""
        if count == 0:
            return []
        with self.driver.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                (table, count),
            )
            return [row[0] for row in cursor.fetchall()]

    def write(self, table: str, rows: Sequence[tuple]) -> None:
        if not rows:
            return
        columns = ", ".join(f'"{name}"' for name in COLUMNS[table])
        with self.driver.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if table == "invoices" and self.triggers_off:
            totals.add_bulk(self.session, totals.bulk_totals(rows, **_INVOICE_TOTALS_POSITIONS))


class SqliteWriter(BulkWriter):
    """SQLite keeps no sequences: inside the write transaction (BEGIN IMMEDIATE holds the
    database's write lock) the next ids are max(id) + 1 onwards."""

    def __init__(self, session: Session):
        super().__init__(session)
        self._next_id: dict[str, int] = {}

    def reserve_ids(self, table: str, count: int) -> list[int]:
        if table not in self._next_id:
            current = self.session.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()
            self._next_id[table] = current + 1
        start = self._next_id[table]
        self._next_id[table] = start + count
        return list(range(start, start + count))

    def write(self, table: str, rows: Sequence[tuple]) -> None:
        if not rows:
            return
        columns = COLUMNS[table]
        rows = _sqlite_values(table, rows)
        per_statement = max(1, SQLITE_MAX_PARAMETERS // len(columns))
        one = "(" + ", ".join("?" * len(columns)) + ")"
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        full_sql = head + ", ".join([one] * per_statement)
        cursor = self.driver.cursor()
        try:
            for start in range(0, len(rows), per_statement):
                chunk = rows[start : start + per_statement]
                sql = full_sql if len(chunk) == per_statement else head + ", ".join([one] * len(chunk))
                cursor.execute(sql, [value for row in chunk for value in row])
        finally:
            cursor.close()


def _datetime_positions(table: str) -> list[int]:
    columns = Base.metadata.tables[table].c
    return [index for index, name in enumerate(COLUMNS[table]) if isinstance(columns[name].type, UtcDateTime)]


_SQLITE_DATETIMES = {table: _datetime_positions(table) for table in COLUMNS}


def _sqlite_text(moment: datetime | None) -> str | None:
    # The exact text SQLAlchemy's SQLite DateTime writes (microseconds always present), so
    # that comparisons in SQL, which are textual on SQLite, order these rows correctly.
    return None if moment is None else moment.isoformat(" ", "microseconds")


def _sqlite_values(table: str, rows: Sequence[tuple]) -> list[tuple]:
    positions = _SQLITE_DATETIMES[table]
    if not positions:
        return list(rows)
    converted = []
    for row in rows:
        values = list(row)
        for index in positions:
            values[index] = _sqlite_text(values[index])
        converted.append(tuple(values))
    return converted
