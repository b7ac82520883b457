"""A realistic credit book for demos and benchmarks, written through the bulk path.

Each batch of accounts is built whole in memory and written in one transaction, so the books
balance after every batch: accounts with holders, purchases settled in 1–12 installments
(split, numbered and dated as `invoices.issuing` does), invoices Opened / Paid (wholly or
partly) / Cancelled / overdue / postponed, live and cancelled holds, limit changes, and the
ledger entries each of those writes in the service (same origins, values and metadata).
Every account's stored balance is the sum of its entries and its held credit the sum of its
live holds, which `customer-credit check` verifies.
"""

import random
import string
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import select

from customer_credit.accounts.models import OPEN, Account
from customer_credit.db.base import utcnow
from customer_credit.db.engine import Database
from customer_credit.demo.bulk import TABLE_ORDER, BulkWriter
from customer_credit.invoices.ids import invoice_public_id
from customer_credit.invoices.issuing import DAYS_BETWEEN_INSTALLMENTS
from customer_credit.invoices.models import CANCELLED, OPENED, PAID
from customer_credit.ledger.models import CREDIT, INVOICE, PAYMENT
from customer_credit.ledger.service import credit_limit_change_cents
from customer_credit.money import from_cents, rate_from_units, split_cents
from customer_credit.stores import service as stores
from customer_credit.stores.models import StoreConfig
from customer_credit.transactions import models as tx

DONE_BY = "demo-loader"
MAX_INSTALLMENTS = 12
ACCOUNTS_PER_BATCH = 1000
_ALPHABET = string.ascii_letters + string.digits
_DAY = timedelta(days=1)
_OBSERVATIONS = (
    "boleto enviado por e-mail",
    "cliente pediu segunda via",
    "pagamento via PIX agendado",
    "aguardando nota fiscal",
    "renegociado com o financeiro",
    "cliente informou atraso no repasse",
    "desconto comercial aprovado",
    "contato feito por telefone",
)
# The demo store's configuration, set only when the store has none yet.
DEMO_CONFIG = {
    "daily_interest_rate_units": 3,  # 0.03 % a day
    "tax_rate_units": 0,
    "invoice_postponement_limit": 2,
    "max_postponement_days": 30,
    "default_credit_cents": 100_000,
    "growth_rate_units": 1000,  # 10 %
    "my_credits_enabled": True,
    "tolerance_enabled": True,
    "automatic_account_creation_enabled": False,
    "postponement_enabled": True,
    "notifications": {"daysPrior": [], "daysAfter": []},
}


@dataclass
class DemoReport:
    store: str
    store_id: int = 0
    accounts: int = 0
    holders: int = 0
    transactions: int = 0
    live_holds: int = 0
    invoices: int = 0
    statements: int = 0
    invoice_status: Counter = field(default_factory=Counter)
    overdue: int = 0
    postponed: int = 0
    partly_paid: int = 0
    seconds: float = 0.0
    # Of which: VACUUM (ANALYZE) / ANALYZE at the end.
    statistics_seconds: float = 0.0

    def rows(self) -> int:
        return self.accounts + self.holders + self.transactions + self.invoices + self.statements


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def _json(value: dict) -> str:
    return orjson.dumps(value).decode()


class _Taken:
    """Public ids and e-mails that must stay unique in the store, seeded from its rows."""

    def __init__(self, session, store_id: int):
        self.public_ids: set[str] = set(
            session.scalars(
                select(Account.public_id).where(Account.store_id == store_id, Account.status == OPEN)
            )
        )
        self.friendly_prefixes: set[str] = set(
            session.scalars(
                select(tx.Transaction.friendly_prefix).where(
                    tx.Transaction.store_id == store_id, tx.Transaction.friendly_prefix.is_not(None)
                )
            )
        )


class _Batch:
    def __init__(self):
        self.rows: dict[str, list[tuple]] = {table: [] for table in TABLE_ORDER}


def _transaction_row(
    head: tuple,
    original_hold: int,
    status: str,
    *,
    hold: int,
    settled: int,
    created: datetime,
    updated: datetime,
    prefix: str | None = None,
    expires: datetime | None = None,
    settled_at: datetime | None = None,
) -> tuple:
    """A row of bulk.COLUMNS["transactions"]: `head` is its columns up to `installments`.
    Nothing is refunded in a demo book."""
    return (*head, hold, original_hold, settled, 0, 0, prefix, status, expires, created, updated, settled_at)


class DemoBuilder:
    """Builds the rows of one batch of accounts, all consistent with the domain's rules."""

    def __init__(
        self,
        rng: random.Random,
        store_id: int,
        now: datetime,
        taken: _Taken,
        run_tag: str,
        *,
        part: int = 0,
        parts: int = 1,
    ):
        # Builders running side by side (one per process) draw documents and friendly ids
        # from disjoint sets, `part` of `parts`, so they never collide with each other.
        self.part = part
        self.parts = parts
        self._first_letters = _ALPHABET[part::parts]
        self.rng = rng
        self.store_id = store_id
        self.now = now
        self.taken = taken
        self.run_tag = run_tag
        self.report_counts: Counter[str] = Counter()
        self.status_counts: Counter[str] = Counter()

    # -- identifiers, as the services make them -------------------------------------------------
    def _document(self) -> tuple[str, str, str]:
        while True:
            if self.rng.random() < 0.7:
                number, kind = self.rng.randrange(10**10 + self.parts, 10**11), "CPF"
            else:
                number, kind = self.rng.randrange(10**13 + self.parts, 10**14), "CNPJ"
            document = str(number - number % self.parts + self.part)
            public_id = f"{document}_{kind}"
            if public_id not in self.taken.public_ids:
                self.taken.public_ids.add(public_id)
                return document, kind, public_id

    def _transaction_id(self) -> str:
        return f"{self.rng.getrandbits(128):032X}"

    def _friendly_prefix(self) -> str:
        while True:
            prefix = self.rng.choice(self._first_letters) + "".join(self.rng.choices(_ALPHABET, k=7))
            if prefix not in self.taken.friendly_prefixes:
                self.taken.friendly_prefixes.add(prefix)
                return prefix

    def _between(self, start: datetime, end: datetime) -> datetime:
        if end <= start:
            return start
        return start + (end - start) * self.rng.random()

    # -- one batch --------------------------------------------------------------------------
    def build(self, writer: BulkWriter, invoice_quotas: list[int], first_index: int = 0) -> _Batch:
        """`invoice_quotas[i]` invoices for the i-th account of the batch, which is account
        number `first_index + i` of the load."""
        batch = _Batch()
        account_ids = writer.reserve_ids("accounts", len(invoice_quotas))
        plans = [
            self._plan_purchases(quota, first_index + offset) for offset, quota in enumerate(invoice_quotas)
        ]
        transaction_ids = iter(writer.reserve_ids("transactions", sum(len(p) for p in plans)))
        for account_id, plan in zip(account_ids, plans, strict=True):
            self._account(batch, account_id, plan, transaction_ids)
        return batch

    def _plan_purchases(self, quota: int, index: int) -> list[tuple[str, int]]:
        """The account's transactions: settled purchases covering `quota` invoices, then a live
        hold on every 20th account and a cancelled one on every 50th (fixed spacing, so that
        even a small book has some)."""
        plan = []
        while quota > 0:
            installments = min(quota, self.rng.randint(1, MAX_INSTALLMENTS))
            plan.append(("settled", installments))
            quota -= installments
        if index % 20 == 7:
            plan.append(("live", self.rng.randint(1, 6)))
        if index % 50 == 13:
            plan.append(("cancelled", self.rng.randint(1, 3)))
        return plan

    def _account(self, batch: _Batch, account_id: int, plan, transaction_ids) -> None:
        rng, now, store_id = self.rng, self.now, self.store_id
        document, kind, public_id = self._document()
        opened_at = now - timedelta(days=560 + rng.random() * 200)
        email = f"{kind.lower()}{document}@cliente.example.com"
        balance = 0
        held = 0
        owed = 0
        last_change = opened_at
        entries = batch.rows["statements"]
        for state, installments in plan:
            transaction_id = next(transaction_ids)
            public = self._transaction_id()
            order_id = f"{rng.randrange(10**12, 10**13)}-01"
            value = rng.randrange(50_00, 5_000_00) if installments < 6 else rng.randrange(500_00, 20_000_00)
            value = max(value, installments)
            # Every demo transaction is created with settle=true, for `value`.
            head = (transaction_id, store_id, account_id, public, order_id, True, installments)
            if state == "live":
                created = now - timedelta(days=rng.random() * 3)
                expires = now + timedelta(days=7) if rng.random() < 0.5 else None
                batch.rows["transactions"].append(
                    _transaction_row(
                        head,
                        value,
                        tx.AUTHORIZED,
                        hold=value,
                        settled=0,
                        expires=expires,
                        created=created,
                        updated=created,
                    )
                )
                held += value
                self.report_counts["live_holds"] += 1
                last_change = max(last_change, created)
                continue
            if state == "cancelled":
                created = self._between(opened_at, now - _DAY)
                cancelled_at = created + timedelta(minutes=5 + rng.random() * 600)
                batch.rows["transactions"].append(
                    _transaction_row(
                        head, value, tx.CANCELLED, hold=0, settled=0, created=created, updated=cancelled_at
                    )
                )
                last_change = max(last_change, cancelled_at)
                continue
            settled_at = now - timedelta(days=rng.random() * 540)
            created = settled_at - timedelta(minutes=1 + rng.random() * 240)
            prefix = self._friendly_prefix()
            batch.rows["transactions"].append(
                _transaction_row(
                    head,
                    value,
                    tx.SETTLED,
                    hold=0,
                    settled=value,
                    prefix=prefix,
                    created=created,
                    updated=settled_at,
                    settled_at=settled_at,
                )
            )
            entries.append(
                (
                    store_id,
                    account_id,
                    INVOICE,
                    -value,
                    DONE_BY,
                    _json(
                        {"transactionId": public, "orderId": order_id, "numberOfInstallments": installments}
                    ),
                    None,
                    settled_at,
                )
            )
            balance -= value
            last_change = max(last_change, settled_at)
            for number, cents in enumerate(split_cents(value, installments), start=1):
                moved, still_owed, touched = self._invoice(
                    batch,
                    account_id,
                    transaction_id,
                    public,
                    prefix,
                    order_id,
                    number,
                    installments,
                    cents,
                    settled_at,
                )
                balance += moved
                owed += still_owed
                last_change = max(last_change, touched)
        limit = self._limit(owed + held)
        initial_limit = limit
        if rng.random() < 0.15 and limit > 1_000_00:
            initial_limit = limit - 500_00 * rng.randint(1, max(1, limit // 500_00 - 1))
        tolerance = 500 if rng.random() < 0.2 else 0
        if initial_limit != limit:
            changed_at = self._between(opened_at, now)
            entries.append(
                (
                    store_id,
                    account_id,
                    CREDIT,
                    credit_limit_change_cents(initial_limit, limit, tolerance),
                    DONE_BY,
                    _json(
                        {
                            "creditLimit": {
                                "from": str(from_cents(initial_limit)),
                                "to": str(from_cents(limit)),
                            },
                            "tolerance": str(rate_from_units(tolerance)),
                        }
                    ),
                    None,
                    changed_at,
                )
            )
            last_change = max(last_change, changed_at)
        batch.rows["accounts"].append(
            (
                account_id,
                store_id,
                public_id,
                document,
                kind,
                email,
                None,
                limit,
                tolerance,
                initial_limit,
                tolerance,
                balance,
                held,
                OPEN,
                opened_at,
                min(last_change, now),
                None,
            )
        )
        holders = 0 if rng.random() < 0.7 else (1 if rng.random() < 0.85 else 2)
        for index in range(holders):
            batch.rows["holders"].append(
                (
                    store_id,
                    account_id,
                    f"{rng.getrandbits(128):032x}",
                    f"comprador{index + 1}.{document}.{self.run_tag}@cliente.example.com",
                    2,
                    self._between(opened_at, now),
                    None,
                )
            )

    def _limit(self, exposure: int) -> int:
        """A limit that covers what the account owes and holds, with room to buy more."""
        wanted = int(exposure * (1.2 + self.rng.random() * 1.8)) + 1_000_00
        return -(-wanted // 500_00) * 500_00

    def _invoice(
        self,
        batch,
        account_id,
        transaction_id,
        public,
        prefix,
        order_id,
        number,
        installments,
        cents,
        settled_at,
    ) -> tuple[int, int, datetime]:
        """Writes one invoice and its entries; returns what they moved the balance by, what is
        still owed on it, and when it last changed."""
        rng, now = self.rng, self.now
        due = settled_at + timedelta(days=DAYS_BETWEEN_INSTALLMENTS * number)
        original_due = due
        roll = rng.random()
        if due < now:
            status = PAID if roll < 0.86 else (OPENED if roll < 0.94 else CANCELLED)
        else:
            status = PAID if roll < 0.10 else (CANCELLED if roll < 0.14 else OPENED)
        paid = 0
        postponements = 0
        resolved = None
        updated = settled_at
        entries = batch.rows["statements"]
        meta = {"transactionId": public, "installment": number}
        if status == PAID:
            resolved = max(settled_at, min(now, due - timedelta(days=rng.random() * 10)))
            paid = cents
            updated = resolved
            entries.append((self.store_id, account_id, PAYMENT, cents, DONE_BY, _json(meta), None, resolved))
        elif status == CANCELLED:
            resolved = self._between(settled_at, min(due, now))
            updated = resolved
            entries.append(
                (
                    self.store_id,
                    account_id,
                    INVOICE,
                    cents,
                    DONE_BY,
                    _json({**meta, "cancelled": True}),
                    None,
                    resolved,
                )
            )
        else:
            if rng.random() < 0.05 and cents >= 2:
                paid = cents // 2
                updated = self._between(settled_at, min(due, now))
                entries.append(
                    (self.store_id, account_id, PAYMENT, paid, DONE_BY, _json(meta), None, updated)
                )
                self.report_counts["partly_paid"] += 1
            if rng.random() < 0.10:
                postponements = rng.randint(1, 2)
                due = original_due + timedelta(days=rng.randint(postponements, 30))
                updated = max(updated, self._between(settled_at, min(original_due, now)))
                self.report_counts["postponed"] += 1
            if due < now:
                self.report_counts["overdue"] += 1
        observation = None
        if rng.random() < 0.10:
            observation = f"{rng.choice(_OBSERVATIONS)} - ref {rng.randrange(100000, 1000000)}"
        link = (
            f"https://pay.example.com/i/{prefix}-{number}"
            if status == OPENED and rng.random() < 0.3
            else None
        )
        self.status_counts[status] += 1
        batch.rows["invoices"].append(
            (
                self.store_id,
                account_id,
                transaction_id,
                invoice_public_id(public, number),
                f"{prefix}-{number}",
                number,
                installments,
                order_id,
                cents,
                paid,
                status,
                observation,
                link,
                postponements,
                due,
                original_due,
                settled_at,
                updated,
                resolved,
            )
        )
        if status == CANCELLED:
            return cents, 0, updated
        return paid, cents - paid if status == OPENED else 0, updated


def _quotas(accounts: int, invoices: int) -> list[int]:
    """Spreads `invoices` over `accounts` so that the total is exact."""
    return [invoices * (index + 1) // accounts - invoices * index // accounts for index in range(accounts)]


@dataclass(frozen=True)
class _Job:
    """What one loader process needs: it rebuilds everything else from these."""

    database_url: str
    store_id: int
    accounts: int
    invoices: int
    seed: int | None
    part: int
    parts: int
    now: datetime
    accounts_per_batch: int


def _run_part(job: _Job, database: Database | None, report: Callable[[dict], None]) -> None:
    """Loads the batches numbered part, part + parts, part + 2 × parts, …; one transaction each."""
    from customer_credit.settings import Settings

    own = database is None
    if database is None:
        database = Database(Settings(database_url=job.database_url, db_pool_size=1))
    try:
        rng = random.Random(None if job.seed is None else f"{job.seed}-{job.part}")
        with database.read() as session:
            taken = _Taken(session, job.store_id)
        builder = DemoBuilder(
            rng,
            job.store_id,
            job.now,
            taken,
            f"{rng.getrandbits(32):08x}",
            part=job.part,
            parts=job.parts,
        )
        quotas = _quotas(job.accounts, job.invoices)
        step = job.accounts_per_batch
        for start in range(job.part * step, job.accounts, job.parts * step):
            with database.write() as session:
                writer = BulkWriter.for_session(session)
                batch = builder.build(writer, quotas[start : start + step], start)
                for table in TABLE_ORDER:
                    writer.write(table, batch.rows[table])
            report({table: len(rows) for table, rows in batch.rows.items()})
        report(
            {
                "done": 1,
                "status": dict(builder.status_counts),
                **{
                    name: builder.report_counts[name]
                    for name in ("live_holds", "overdue", "postponed", "partly_paid")
                },
            }
        )
    finally:
        if own:
            database.dispose()


def _process_main(job: _Job, queue) -> None:
    try:
        _run_part(job, None, queue.put)
    except BaseException as error:  # noqa: BLE001 - handed to the parent, which raises it
        import traceback

        queue.put({"error": f"{type(error).__name__}: {error}\n{traceback.format_exc()}"})


def default_processes(database: Database) -> int:
    """One loader per core on PostgreSQL; SQLite takes one writer at a time anyway."""
    import os

    return 1 if database.is_sqlite else max(1, min(4, os.cpu_count() or 1))


def load_demo(
    database: Database,
    *,
    store_name: str,
    accounts: int,
    invoices: int,
    seed: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    processes: int | None = None,
    accounts_per_batch: int = ACCOUNTS_PER_BATCH,
    analyze: bool = True,
    now: datetime | None = None,
) -> DemoReport:
    """Adds `accounts` accounts holding `invoices` invoices in total to the store (created
    if missing). `progress(accounts_done, invoices_done)` is called after each batch. The book
    is dated around `now` (an aware moment; the current time when not given)."""
    if accounts < 1 or invoices < 0:
        raise ValueError("accounts must be at least 1 and invoices at least 0")
    started = time.perf_counter()
    report = DemoReport(store=store_name)
    with database.write() as session:
        store = stores.get_or_create_store(session, store_name)
        report.store_id = store.id
        if session.get(StoreConfig, store.id) is None:
            stores.save_config(session, store.id, DEMO_CONFIG)
    batches = -(-accounts // accounts_per_batch)
    parts = max(1, min(processes or default_processes(database), batches))
    jobs = [
        _Job(
            database.url,
            report.store_id,
            accounts,
            invoices,
            seed,
            part,
            parts,
            _naive((now or utcnow()).astimezone(UTC)),
            accounts_per_batch,
        )
        for part in range(parts)
    ]

    def take(message: dict) -> None:
        if "error" in message:
            raise RuntimeError(f"a demo loader failed: {message['error']}")
        if "done" in message:
            report.invoice_status.update(message["status"])
            for name in ("live_holds", "overdue", "postponed", "partly_paid"):
                setattr(report, name, getattr(report, name) + message[name])
            return
        for table, count in message.items():
            setattr(report, table, getattr(report, table) + count)
        if progress is not None:
            progress(report.accounts, report.invoices)

    if parts == 1:
        _run_part(jobs[0], database, take)
    else:
        _run_processes(jobs, take)
    if analyze:
        vacuum_started = time.perf_counter()
        refresh_statistics(database)
        report.statistics_seconds = time.perf_counter() - vacuum_started
    report.seconds = time.perf_counter() - started
    return report


def _run_processes(jobs: list[_Job], take: Callable[[dict], None]) -> None:
    import multiprocessing
    import queue as queues

    # spawn, not fork: a child must not inherit the parent's pooled connections.
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    children = [context.Process(target=_process_main, args=(job, messages), daemon=True) for job in jobs]
    for child in children:
        child.start()
    finished = 0
    try:
        while finished < len(children):
            try:
                message = messages.get(timeout=1)
            except queues.Empty:
                if any(child.exitcode not in (None, 0) for child in children):
                    raise RuntimeError("a demo loader process died") from None
                continue
            take(message)
            finished += "done" in message
    finally:
        for child in children:
            if child.is_alive() and finished < len(children):
                child.terminate()
            child.join()


def refresh_statistics(database: Database) -> None:
    """Lets the planner see the new rows at once (and, on PostgreSQL, marks the pages
    all-visible so that covering indexes answer without reading the table)."""
    if database.is_sqlite:
        with database.write() as session:
            session.connection().exec_driver_sql("ANALYZE")
        return
    with database.write_engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in TABLE_ORDER:
            connection.exec_driver_sql(f"VACUUM (ANALYZE) {table}")
