"""Per-store invoice totals: what the unfiltered store-wide search's summary reports (count,
and the values of Opened, Paid and Cancelled invoices), kept exact by the database itself.

The rows are maintained by triggers on `invoices` (migration 0015_invoice_totals), not by the
services: every way an invoice row changes — the ORM's unit of work, Core `UPDATE`s, plain
SQL, `COPY` — goes through them, so no code path can forget the totals, and they change in
the same transaction as the invoices they count. Only the demo loader's superuser path, which
turns triggers off (`session_replication_role = replica`), adds its batches' totals itself
(`add_bulk`).

A store's totals are spread over up to STRIPES rows (`stripe`), summed on read: on
PostgreSQL a transaction adds to the row `txid_current() % STRIPES`, so concurrent writers
(whose transaction ids are consecutive) land on different rows instead of queueing on one
per store. The triggers there are deferred constraint triggers: they run at COMMIT, so the
totals row is the last lock a transaction takes and holds it only while committing, and a
transaction never waits for it while holding a lock another one needs (no deadlock); a
savepoint rolled back takes its pending additions with it. A single row may hold negative
figures (an invoice issued through one stripe and paid through another); only the sum over a
store's rows means anything. (Deferred, they also mean that on PostgreSQL a transaction sees
its own invoice changes in the totals only once it has committed; every search runs in a read
transaction of its own.) SQLite writes one at a time, so there every change adds to stripe 0,
at once (its triggers cannot be deferred).

`customer-credit check` recomputes the totals from the invoices (ledger.check.totals_mismatches).
"""

from dataclasses import dataclass
from typing import cast

from sqlalchemy import BigInteger, ForeignKey, SmallInteger, Table, case, func, literal, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from customer_credit.db.base import Base
from customer_credit.invoices.models import CANCELLED, OPENED, PAID, Invoice

# Rows per store on PostgreSQL; the migration's trigger function uses the same number.
STRIPES = 32


class InvoiceTotals(Base):
    __tablename__ = "invoice_totals"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    stripe: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    opened_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    opened_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    paid_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    paid_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    cancelled_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    cancelled_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


@dataclass(frozen=True)
class Totals:
    """One store's invoices, counted and summed by status (values in cents)."""

    opened_count: int = 0
    opened_cents: int = 0
    paid_count: int = 0
    paid_cents: int = 0
    cancelled_count: int = 0
    cancelled_cents: int = 0

    FIELDS = (
        "opened_count",
        "opened_cents",
        "paid_count",
        "paid_cents",
        "cancelled_count",
        "cancelled_cents",
    )

    def summary(self, status: str | None = None) -> dict[str, int]:
        """The search's summary (decisions.md, Invoices: count of the matches, value sums by
        status) of all the store's invoices, or of those in `status`."""
        by_status = {
            OPENED: (self.opened_count, self.opened_cents),
            PAID: (self.paid_count, self.paid_cents),
            CANCELLED: (self.cancelled_count, self.cancelled_cents),
        }
        kept = by_status if status is None else {status: by_status[status]}
        return {
            "count": sum(count for count, _cents in kept.values()),
            "total": kept.get(OPENED, (0, 0))[1],
            "totalPaid": kept.get(PAID, (0, 0))[1],
            "totalCancelled": kept.get(CANCELLED, (0, 0))[1],
        }

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.FIELDS}


def _of(row) -> Totals:
    return Totals(*(int(value or 0) for value in row))


def stored(session: Session, store_id: int) -> Totals:
    """The store's totals as maintained: one aggregate over at most STRIPES rows."""
    columns = [func.coalesce(func.sum(getattr(InvoiceTotals, name)), 0) for name in Totals.FIELDS]
    return _of(session.execute(select(*columns).where(InvoiceTotals.store_id == store_id)).one())


def _by_status(status: str):
    return (
        func.coalesce(func.sum(case((Invoice.status == status, 1), else_=0)), 0),
        func.coalesce(func.sum(case((Invoice.status == status, Invoice.value_cents), else_=0)), 0),
    )


def stored_by_store(session: Session, store_id: int | None = None) -> dict[int, Totals]:
    columns = [func.sum(getattr(InvoiceTotals, name)) for name in Totals.FIELDS]
    query = select(InvoiceTotals.store_id, *columns).group_by(InvoiceTotals.store_id)
    if store_id is not None:
        query = query.where(InvoiceTotals.store_id == store_id)
    return {row[0]: _of(row[1:]) for row in session.execute(query)}


def recomputed_by_store(session: Session, store_id: int | None = None) -> dict[int, Totals]:
    """The totals from the invoices themselves (a scan of the store's invoices)."""
    query = select(Invoice.store_id, *_by_status(OPENED), *_by_status(PAID), *_by_status(CANCELLED)).group_by(
        Invoice.store_id
    )
    if store_id is not None:
        query = query.where(Invoice.store_id == store_id)
    return {row[0]: _of(row[1:]) for row in session.execute(query)}


def bulk_totals(rows, *, store_position: int, status_position: int, value_position: int) -> dict[int, Totals]:
    """The totals that invoice rows (tuples) add, per store."""
    found: dict[int, dict[str, int]] = {}
    for row in rows:
        store = found.setdefault(row[store_position], dict.fromkeys(Totals.FIELDS, 0))
        prefix = {OPENED: "opened", PAID: "paid", CANCELLED: "cancelled"}[row[status_position]]
        store[f"{prefix}_count"] += 1
        store[f"{prefix}_cents"] += row[value_position]
    return {store_id: Totals(**figures) for store_id, figures in found.items()}


def add_bulk(session: Session, additions: dict[int, Totals]) -> None:
    """Adds to the stores' totals, for a writer whose invoice rows skipped the triggers: one
    upsert per store, on the stripe the triggers would have chosen."""
    if not additions:
        return
    is_postgresql = session.get_bind().dialect.name == "postgresql"
    dialect_insert = postgresql.insert if is_postgresql else sqlite.insert
    stripe = text(f"txid_current() % {STRIPES}") if is_postgresql else literal(0)
    table = cast(Table, InvoiceTotals.__table__)
    for store_id, figures in additions.items():
        insert = dialect_insert(table).values(store_id=store_id, stripe=stripe, **figures.as_dict())
        session.execute(
            insert.on_conflict_do_update(
                index_elements=["store_id", "stripe"],
                set_={name: table.c[name] + insert.excluded[name] for name in Totals.FIELDS},
            )
        )
