"""The "bank" load: many concurrent clients move money through a real server, then the books
are checked.

`Bank(base_url, credentials, config)` opens accounts in one or more stores, then `run()` drives
the server from `config.clients` threads for `config.seconds`: holds (POST and PUT by id),
hold updates and cancellations, settlements (first, repeated, other values), payments (whole,
partial, PUT status=Paid), payment reversals, invoice cancellations (DELETE and PUT), refunds,
postponements, limit and tolerance changes, manual debits, racing account openings, and reads
that check the figures. Most writes carry an Idempotency-Key; some are retried with the same
key, some are sent twice at the same moment. `verify_database(database)` then checks the
stored rows against the ledger and against every 2xx the clients saw, and `report()` gives the
numbers. The same class drives the short run in `make test` and the long one in `make bench`.

Invariants (each failure is a violation, with a line saying where):
- no 5xx, no transport error, no "database is locked" anywhere;
- a retry with the same Idempotency-Key after a 2xx gets the identical status and body;
- every figure a read returns is consistent (availableCredit = L + B − P, availableBalance =
  L + B) and availableCredit ≥ −L×t (0 without toleranceEnabled) whenever no operation that may
  lawfully push it lower (limit or tolerance decrease, payment reversal, manual debit) overlapped;
  accounts that never see such operations must satisfy it always, including at the end;
- stored balance and held credit equal the ledger (`recompute_mismatches`), and the limit and
  tolerance equal their Credit entries (sum = L_end(1+t_end) − L_start(1+t_start));
- per invoice: Payment entries add up to creditValue, at most one cancellation entry;
  per transaction: the settlement entries add up to the settled value, the refund entries to
  the refunded value, the invoices to settled − (refunded − refund excess);
- against the clients' 2xx: every hold exists, refunded = Σ 2xx refunds, the settled value is one
  a 2xx settlement asked for, Payment entries per invoice lie between the 2xx partial payments
  and all 2xx payments, manual debits appear exactly once each.
"""

import json
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import Any

import httpx

API = "/api/creditcontrol"
CENT = Decimal("0.01")
LOWERING = "lowering"


def cents(value: Decimal) -> int:
    return int((value * 100).to_integral_value())


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_DOWN)


@dataclass
class BankConfig:
    seconds: float = 20.0
    clients: int = 24
    accounts_per_store: int = 6
    seed: int = 20240501
    key_rate: float = 0.85  # share of writes that carry an Idempotency-Key
    retry_rate: float = 0.15  # of those, retried once after the answer
    duplicate_rate: float = 0.05  # of those, sent twice at the same moment
    request_timeout_s: float = 60.0
    growth_rate: Decimal = Decimal("0.2")


@dataclass
class StoreSpec:
    """A store the bank works in: its credential headers and whether tolerance counts."""

    store_id: int
    headers: dict[str, str]
    tolerance_enabled: bool


@dataclass
class Outcome:
    status: int | None
    raw: bytes = b""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def json(self) -> Any:
        if not self.raw:
            return None
        return json.loads(self.raw, parse_float=Decimal)

    def code(self) -> str:
        try:
            return self.json()["error"]["code"]
        except Exception:  # noqa: BLE001 - any non-error body
            return ""


@dataclass
class AccountInfo:
    id: str
    store: StoreSpec
    monotone: bool  # never sees an operation that may lawfully lower availableCredit
    initial_limit: Decimal
    initial_tolerance: Decimal
    limit: Decimal
    tolerance: Decimal
    change_lock: threading.Lock = field(default_factory=threading.Lock)
    lowering_inflight: int = 0
    lowering_seq: int = 0
    good_seq: int | None = None  # lowering_seq at a read that found availableCredit above the floor
    transactions: list[str] = field(default_factory=list)
    limits_2xx: set[Decimal] = field(default_factory=set)
    tolerances_2xx: set[Decimal] = field(default_factory=set)
    debits_2xx: dict[str, int] = field(default_factory=dict)


@dataclass
class TxInfo:
    id: str
    account: AccountInfo
    settle: bool
    installments: int
    hold_value: Decimal
    settled_cents_2xx: set[int] = field(default_factory=set)
    last_settled: Decimal | None = None
    refunded_cents_2xx: int = 0


@dataclass
class InvoiceTrack:
    partial_2xx: int = 0
    partial_cents_2xx: int = 0
    full_2xx: int = 0
    cancel_2xx: int = 0


class Bank:
    def __init__(self, base_url: str, stores: list[StoreSpec], config: BankConfig | None = None):
        self.base_url = base_url.rstrip("/")
        self.stores = stores
        self.config = config or BankConfig()
        self.lock = threading.Lock()
        self.accounts: list[AccountInfo] = []
        self.transactions: dict[str, TxInfo] = {}
        self.invoices: dict[str, InvoiceTrack] = defaultdict(InvoiceTrack)
        self.ops: Counter[str] = Counter()
        self.statuses: dict[str, Counter[str]] = defaultdict(Counter)
        self.requests = 0
        self.retries = 0
        self.duplicates = 0
        self.mixed_duplicates = 0
        self.samples_checked = 0
        self.samples_skipped = 0
        self.violations: list[str] = []
        self.started_at = 0.0
        self.elapsed_s = 0.0

    # ----------------------------------------------------------------- plumbing

    def violation(self, message: str) -> None:
        with self.lock:
            if len(self.violations) < 10_000:
                self.violations.append(message)

    def new_client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            timeout=self.config.request_timeout_s,
            limits=httpx.Limits(max_connections=2, max_keepalive_connections=2),
        )

    def _send(self, client: httpx.Client, method: str, path: str, headers, content) -> Outcome:
        try:
            response = client.request(method, API + path, headers=headers, content=content)
        except httpx.HTTPError as error:
            return Outcome(None, error=f"{type(error).__name__}: {error}")
        return Outcome(response.status_code, response.content)

    def _note(self, op: str, outcome: Outcome, method: str, path: str) -> None:
        if outcome.status is None:
            label = "transport-error"
        elif outcome.status >= 500:
            label = str(outcome.status)
        elif outcome.ok:
            label = "2xx"
        else:
            label = f"{outcome.status} {outcome.code()}"
        with self.lock:
            self.requests += 1
            self.statuses[op][label] += 1
        if outcome.status is None:
            self.violation(f"{op}: {method} {path}: no answer ({outcome.error})")
        elif outcome.status >= 500:
            self.violation(f"{op}: {method} {path}: {outcome.status} {outcome.raw[:300]!r}")
        if b"database is locked" in outcome.raw:
            self.violation(f"{op}: {method} {path}: 'database is locked' reached the client")

    def read(self, worker: "Worker", op: str, path: str, store: StoreSpec) -> Outcome:
        with self.lock:
            self.ops[op] += 1
        outcome = self._send(worker.client, "GET", path, store.headers, None)
        self._note(op, outcome, "GET", path)
        return outcome

    def write(
        self, worker: "Worker", op: str, method: str, path: str, store: StoreSpec, body: str | None = None
    ) -> Outcome:
        """Sends a write, with an Idempotency-Key most of the time, sometimes twice. Returns the
        answer that counts: the 2xx if any attempt got one."""
        rng = worker.rng
        headers = dict(store.headers)
        content = body.encode() if body is not None else None
        if content is not None:
            headers["Content-Type"] = "application/json"
        with self.lock:
            self.ops[op] += 1
        if rng.random() >= self.config.key_rate:
            outcome = self._send(worker.client, method, path, headers, content)
            self._note(op, outcome, method, path)
            return outcome
        headers["Idempotency-Key"] = f"bank-{uuid.uuid4().hex}"
        roll = rng.random()
        if roll < self.config.duplicate_rate:
            return self._duplicate(worker, op, method, path, headers, content)
        first = self._send(worker.client, method, path, headers, content)
        self._note(op, first, method, path)
        if roll < self.config.duplicate_rate + self.config.retry_rate:
            with self.lock:
                self.retries += 1
            again = self._send(worker.client, method, path, headers, content)
            self._note(op, again, method, path)
            if first.ok and (again.status, again.raw) != (first.status, first.raw):
                self.violation(
                    f"{op}: {method} {path}: retry with the same Idempotency-Key answered "
                    f"{again.status} {again.raw[:200]!r}, first answer {first.status} {first.raw[:200]!r}"
                )
            if again.ok and not first.ok:
                return again
        return first

    def _duplicate(self, worker, op, method, path, headers, content) -> Outcome:
        with self.lock:
            self.duplicates += 1
        twin: list[Outcome] = []
        thread = threading.Thread(
            target=lambda: twin.append(self._send(worker.twin_client, method, path, headers, content))
        )
        thread.start()
        first = self._send(worker.client, method, path, headers, content)
        thread.join()
        second = twin[0]
        self._note(op, first, method, path)
        self._note(op, second, method, path)
        answers = [outcome for outcome in (first, second) if outcome.ok]
        if len(answers) == 2 and (first.status, first.raw) != (second.status, second.raw):
            self.violation(
                f"{op}: {method} {path}: two simultaneous requests with one Idempotency-Key got "
                f"different 2xx answers: {first.raw[:200]!r} / {second.raw[:200]!r}"
            )
        if len(answers) == 1:
            # One attempt lost the race and was refused: the key must now replay the 2xx.
            with self.lock:
                self.mixed_duplicates += 1
            third = self._send(worker.client, method, path, headers, content)
            self._note(op, third, method, path)
            if (third.status, third.raw) != (answers[0].status, answers[0].raw):
                self.violation(
                    f"{op}: {method} {path}: after a simultaneous pair (one 2xx) the key replays "
                    f"{third.status} {third.raw[:200]!r}, not the 2xx {answers[0].raw[:200]!r}"
                )
        return answers[0] if answers else first

    # ----------------------------------------------------------------- setup

    def configure_stores(self) -> None:
        with self.new_client() as client:
            for store in self.stores:
                body = {
                    "dailyInterestRate": "0.001",
                    "invoicePostponementLimit": 3,
                    "taxRate": 0,
                    "maxPostponementDays": 30,
                    "defaultCreditValue": "1000",
                    "maxPreAuthorizationGrowthRate": str(self.config.growth_rate),
                    "myCreditsEnabled": True,
                    "toleranceEnabled": store.tolerance_enabled,
                    "automaticCheckingAccountCreationEnabled": False,
                    "postponementEnabled": True,
                }
                response = client.put(API + "/storeconfig", headers=store.headers, json=body)
                if response.status_code != 200:
                    raise RuntimeError(f"storeconfig: {response.status_code} {response.text}")

    def open_accounts(self, rng: random.Random) -> None:
        with self.new_client() as client:
            for store in self.stores:
                for index in range(self.config.accounts_per_store):
                    limit = Decimal(rng.randrange(800, 4000, 50))
                    tolerance = Decimal(rng.choice(["0", "0.05", "0.1", "0.2"]))
                    document = f"{rng.randrange(10**10, 10**11)}"
                    response = client.post(
                        API + "/accounts",
                        headers=store.headers,
                        json={
                            "document": document,
                            "documentType": "CPF",
                            "email": f"bank-{document}@example.com",
                            "creditLimit": str(limit),
                            "tolerance": str(tolerance),
                        },
                    )
                    if response.status_code != 200:
                        raise RuntimeError(f"open account: {response.status_code} {response.text}")
                    body = json.loads(response.content, parse_float=Decimal)
                    self.accounts.append(
                        AccountInfo(
                            id=body["id"],
                            store=store,
                            monotone=index % 2 == 0,
                            initial_limit=limit,
                            initial_tolerance=tolerance,
                            limit=limit,
                            tolerance=tolerance,
                        )
                    )

    def setup(self) -> None:
        rng = random.Random(self.config.seed)
        self.configure_stores()
        self.open_accounts(rng)

    # ----------------------------------------------------------------- the load

    def run(self) -> None:
        self.started_at = time.monotonic()
        deadline = self.started_at + self.config.seconds
        workers = [Worker(self, index, deadline) for index in range(self.config.clients)]
        threads = [threading.Thread(target=worker.loop, name=f"bank-{worker.index}") for worker in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.elapsed_s = time.monotonic() - self.started_at

    # ----------------------------------------------------------------- shared state

    def pick_account(self, rng: random.Random) -> AccountInfo:
        with self.lock:
            return rng.choice(self.accounts)

    def pick_transaction(self, rng: random.Random, account: AccountInfo, *, settled: bool | None = None):
        with self.lock:
            candidates = [self.transactions[tid] for tid in account.transactions[-30:]]
        if settled is not None:
            candidates = [tx for tx in candidates if (tx.last_settled is not None) == settled]
        return rng.choice(candidates) if candidates else None

    def pick_invoice(self, rng: random.Random, account: AccountInfo) -> tuple[TxInfo, str] | None:
        tx = self.pick_transaction(rng, account, settled=True)
        if tx is None:
            return None
        with self.lock:
            # Each settlement with a new value may have issued `installments` more invoices.
            highest = tx.installments * max(len(tx.settled_cents_2xx), 1)
        return tx, f"{tx.id}-{rng.randint(1, highest):02d}"

    def lowering(self, account: AccountInfo, delta: int) -> None:
        with self.lock:
            account.lowering_inflight += delta
            account.lowering_seq += 1

    def lowering_mark(self, account: AccountInfo) -> tuple[int, int]:
        with self.lock:
            return account.lowering_inflight, account.lowering_seq

    def check_figures(self, account: AccountInfo, body: dict, before: tuple[int, int]) -> None:
        limit = body["creditLimit"]
        balance = body["balance"]
        held = body["preAuthorizedCredit"]
        available = body["availableCredit"]
        tolerance = body["tolerance"]
        if available != limit + balance - held:
            self.violation(f"account {account.id}: availableCredit {available} != L+B-P in {body}")
        if body["availableBalance"] != limit + balance:
            self.violation(f"account {account.id}: availableBalance != L+B in {body}")
        if held < 0:
            self.violation(f"account {account.id}: preAuthorizedCredit {held} < 0")
        after = self.lowering_mark(account)
        floor = -(limit * tolerance) if account.store.tolerance_enabled else Decimal(0)
        holds = available >= floor
        if not account.monotone:
            # A limit or tolerance decrease, a payment reversal or a debit may lawfully leave the
            # account below the floor. The check applies when an earlier read found it above the
            # floor and none of those operations started or ended since that read began.
            stable = before[0] == 0 and before == after
            with self.lock:
                judged = stable and account.good_seq == before[1]
                if stable and holds:
                    account.good_seq = before[1]
                if not judged:
                    self.samples_skipped += 1
                    return
        with self.lock:
            self.samples_checked += 1
        if not holds:
            self.violation(
                f"account {account.id}: availableCredit {available} below {floor} "
                f"(L={limit}, t={tolerance}, toleranceEnabled={account.store.tolerance_enabled})"
            )

    def record_hold(self, account: AccountInfo, body: dict, settle: bool, installments: int) -> None:
        with self.lock:
            if body["id"] in self.transactions:
                return
            self.transactions[body["id"]] = TxInfo(
                id=body["id"],
                account=account,
                settle=settle,
                installments=installments,
                hold_value=body["value"],
            )
            account.transactions.append(body["id"])

    # ----------------------------------------------------------------- checking the books

    def verify_database(self, database, store_ids: Iterable[int] | None = None) -> list[str]:
        """Reads every row of the bank's stores and returns the violations found (also added to
        `self.violations`)."""
        store_ids = sorted(set(store_ids or [store.store_id for store in self.stores]))
        found = check_books(database, store_ids)
        found += self._check_against_clients(database, store_ids)
        for message in found:
            self.violation(message)
        return found

    def _check_against_clients(self, database, store_ids: list[int]) -> list[str]:
        from sqlalchemy import select

        from customer_credit.accounts.models import Account
        from customer_credit.invoices.models import Invoice
        from customer_credit.ledger.models import CREDIT, PAYMENT, STATEMENT, Statement
        from customer_credit.transactions.models import SETTLED, Transaction

        problems = []
        with database.read() as session:
            accounts = {
                (row.store_id, row.public_id): row
                for row in session.scalars(
                    select(Account).where(Account.store_id.in_(store_ids), Account.status == "Open")
                )
            }
            by_pk = {row.id: row for row in accounts.values()}
            transactions = {
                (row.store_id, row.public_id): row
                for row in session.scalars(select(Transaction).where(Transaction.store_id.in_(store_ids)))
            }
            invoices = {
                (row.store_id, row.public_id): row
                for row in session.scalars(select(Invoice).where(Invoice.store_id.in_(store_ids)))
            }
            entries = list(session.scalars(select(Statement).where(Statement.store_id.in_(store_ids))))
            session.expunge_all()  # the rows stay readable after the read transaction ends

        payments_by_invoice: dict[tuple[int, str], list[int]] = defaultdict(list)
        debits: dict[int, Counter[str]] = defaultdict(Counter)
        credit_sum: Counter[int] = Counter()
        for entry in entries:
            meta = entry.meta or {}
            if entry.origin == PAYMENT and "installment" in meta:
                key = (entry.store_id, f"{meta['transactionId']}-{int(meta['installment']):02d}")
                payments_by_invoice[key].append(entry.value_cents)
            elif entry.origin == STATEMENT:
                debits[entry.account_id][meta.get("statementId")] += 1
            elif entry.origin == CREDIT:
                credit_sum[entry.account_id] += entry.value_cents

        for account in self.accounts:
            row = accounts.get((account.store.store_id, account.id))
            if row is None:
                problems.append(f"account {account.id}: opened with a 2xx, not open in the database")
                continue
            final_limit = Decimal(row.credit_limit_cents) / 100
            final_tolerance = Decimal(row.tolerance_units) / 10_000
            if account.monotone:
                if final_limit != account.limit or final_tolerance != account.tolerance:
                    problems.append(
                        f"account {account.id}: limit/tolerance {final_limit}/{final_tolerance}, the "
                        f"last 2xx changes set {account.limit}/{account.tolerance}"
                    )
            else:
                if final_limit not in account.limits_2xx | {account.initial_limit}:
                    problems.append(f"account {account.id}: limit {final_limit} was never asked for")
                if final_tolerance not in account.tolerances_2xx | {account.initial_tolerance}:
                    problems.append(f"account {account.id}: tolerance {final_tolerance} was never asked for")
            expected_credit = cents(
                final_limit * (1 + final_tolerance) - account.initial_limit * (1 + account.initial_tolerance)
            )
            if credit_sum[row.id] != expected_credit:
                problems.append(
                    f"account {account.id}: Credit entries add up to {credit_sum[row.id]} cents, limit and "
                    f"tolerance moved by {expected_credit} cents"
                )
            recorded = debits[row.id]
            for statement_id in account.debits_2xx:
                if recorded[statement_id] != 1:
                    problems.append(
                        f"account {account.id}: debit {statement_id} answered 2xx, "
                        f"{recorded[statement_id]} entries"
                    )
            for statement_id, count in recorded.items():
                if count > 1:
                    problems.append(f"account {account.id}: debit {statement_id} recorded {count} times")
            if account.monotone:
                limit = row.credit_limit_cents
                floor = -(
                    (Decimal(limit) * row.tolerance_units / 10_000).quantize(Decimal(1), ROUND_HALF_EVEN)
                )
                if not account.store.tolerance_enabled:
                    floor = 0
                available = limit + row.balance_cents - row.pre_authorized_cents
                if available < floor:
                    problems.append(
                        f"account {account.id}: final availableCredit {available} cents below {floor} cents"
                    )

        for tx in self.transactions.values():
            row = transactions.get((tx.account.store.store_id, tx.id))
            if row is None:
                problems.append(f"transaction {tx.id}: created with a 2xx, missing in the database")
                continue
            if by_pk.get(row.account_id) is None or by_pk[row.account_id].public_id != tx.account.id:
                problems.append(f"transaction {tx.id}: on another account than the one it was held on")
            if row.refunded_cents != tx.refunded_cents_2xx:
                problems.append(
                    f"transaction {tx.id}: refunded {row.refunded_cents} cents, 2xx refunds add up to "
                    f"{tx.refunded_cents_2xx}"
                )
            if tx.settled_cents_2xx:
                if row.status != SETTLED:
                    problems.append(f"transaction {tx.id}: settled with a 2xx, status {row.status}")
                elif row.settled_cents not in tx.settled_cents_2xx:
                    problems.append(
                        f"transaction {tx.id}: settled at {row.settled_cents} cents, 2xx settlements asked "
                        f"{sorted(tx.settled_cents_2xx)}"
                    )

        for store_id, invoice_id in invoices:
            track = self.invoices.get(invoice_id, InvoiceTrack())
            positive = [value for value in payments_by_invoice[(store_id, invoice_id)] if value > 0]
            if len(positive) < track.partial_2xx or sum(positive) < track.partial_cents_2xx:
                problems.append(
                    f"invoice {invoice_id}: {len(positive)} payments ({sum(positive)} cents) recorded, "
                    f"{track.partial_2xx} partial payments ({track.partial_cents_2xx} cents) answered 2xx"
                )
            if len(positive) > track.partial_2xx + track.full_2xx:
                problems.append(
                    f"invoice {invoice_id}: {len(positive)} payments recorded, only "
                    f"{track.partial_2xx + track.full_2xx} payment requests answered 2xx"
                )
        stored_invoice_ids = {key[1] for key in invoices}
        for invoice_id in self.invoices:
            if invoice_id not in stored_invoice_ids:
                problems.append(f"invoice {invoice_id}: answered 2xx, missing in the database")
        return problems

    # ----------------------------------------------------------------- numbers

    def report(self) -> dict:
        per_type = {}
        for op in sorted(self.ops):
            per_type[op] = {"operations": self.ops[op], "answers": dict(self.statuses[op])}
        for op in sorted(set(self.statuses) - set(self.ops)):
            per_type[op] = {"operations": 0, "answers": dict(self.statuses[op])}
        return {
            "seconds": round(self.elapsed_s, 1),
            "clients": self.config.clients,
            "accounts": len(self.accounts),
            "operations": sum(self.ops.values()),
            "requests": self.requests,
            "retries": self.retries,
            "simultaneous_duplicates": self.duplicates,
            "duplicates_with_one_refusal": self.mixed_duplicates,
            "figure_samples_checked": self.samples_checked,
            "figure_samples_skipped": self.samples_skipped,
            "transactions": len(self.transactions),
            "invoices_touched": len(self.invoices),
            "server_errors": sum(
                count
                for answers in self.statuses.values()
                for label, count in answers.items()
                if label.startswith("5") or label == "transport-error"
            ),
            "violations": len(self.violations),
            "per_type": per_type,
        }

    def summary(self) -> str:
        report = self.report()
        lines = [
            f"bank: {report['operations']} operations ({report['requests']} requests) from "
            f"{report['clients']} clients in {report['seconds']} s on {report['accounts']} accounts; "
            f"{report['retries']} retries, {report['simultaneous_duplicates']} simultaneous duplicates "
            f"({report['duplicates_with_one_refusal']} with one refusal); "
            f"{report['figure_samples_checked']} figure samples checked "
            f"({report['figure_samples_skipped']} skipped during lowering operations); "
            f"{report['server_errors']} 5xx/transport errors; {report['violations']} violations"
        ]
        for op, numbers in report["per_type"].items():
            answers = ", ".join(f"{label}: {count}" for label, count in sorted(numbers["answers"].items()))
            lines.append(f"  {op:<18} {numbers['operations']:>6}  {answers}")
        for message in self.violations[:30]:
            lines.append(f"  VIOLATION {message}")
        if len(self.violations) > 30:
            lines.append(f"  … and {len(self.violations) - 30} more")
        return "\n".join(lines)


class Worker:
    """One client: its own HTTP connections and random stream, looping until the deadline."""

    WEIGHTS = {
        "hold": 14,
        "hold_put_new": 3,
        "hold_update": 6,
        "hold_cancel": 3,
        "settle": 12,
        "settle_repeat": 4,
        "settle_change": 4,
        "pay_full": 7,
        "pay_partial": 8,
        "pay_put": 3,
        "pay_reversal": 2,
        "invoice_cancel": 3,
        "invoice_cancel_put": 2,
        "refund": 5,
        "postpone": 4,
        "credit_limit": 3,
        "tolerance": 3,
        "debit": 1,
        "open_race": 0.3,
        "refund_burst": 0.6,
        "tiny_purchase": 0.6,
        "read_account": 6,
        "read_invoices": 1,
        "read_statements": 3,
    }

    def __init__(self, bank: Bank, index: int, deadline: float):
        self.bank = bank
        self.index = index
        self.deadline = deadline
        self.rng = random.Random(bank.config.seed * 1000 + index)
        self.client = bank.new_client()
        self.twin_client = bank.new_client()
        self.names = list(self.WEIGHTS)
        self.weights = [self.WEIGHTS[name] for name in self.names]

    def loop(self) -> None:
        try:
            while time.monotonic() < self.deadline:
                op = self.rng.choices(self.names, self.weights)[0]
                account = self.bank.pick_account(self.rng)
                try:
                    getattr(self, op)(account)
                except Exception as error:  # noqa: BLE001 - a client bug must show, not hang the run
                    self.bank.violation(f"{op}: client error {type(error).__name__}: {error}")
        finally:
            self.client.close()
            self.twin_client.close()

    # ------------------------------------------------------------- helpers

    def amount(self, low: Decimal, high: Decimal) -> Decimal:
        low_cents, high_cents = cents(low), cents(high)
        if high_cents <= low_cents:
            return money(low)
        return Decimal(self.rng.randint(low_cents, high_cents)) / 100

    def number(self, value: Decimal) -> str:
        """An amount as a JSON number or as a numeric string, as clients send both."""
        return str(value) if self.rng.random() < 0.5 else f'"{value}"'

    def _hold_body(self, value: Decimal, settle: bool, installments: int) -> str:
        parts = [
            f'"value": {self.number(value)}',
            f'"settle": {json.dumps(settle)}',
            f'"installments": {installments}',
        ]
        if self.rng.random() < 0.08:
            expires = datetime.now(UTC) + timedelta(seconds=self.rng.uniform(2, 8))
            parts.append(f'"expirationDate": "{expires.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}"')
        return "{" + ", ".join(parts) + "}"

    def _lowering_write(self, account: AccountInfo, op, method, path, body=None) -> Outcome:
        self.bank.lowering(account, +1)
        try:
            return self.bank.write(self, op, method, path, account.store, body)
        finally:
            self.bank.lowering(account, -1)

    # ------------------------------------------------------------- operations

    def hold(self, account: AccountInfo) -> None:
        value = self.amount(Decimal("5"), account.limit / 4)
        settle = self.rng.random() < 0.85
        installments = self.rng.randint(1, 4)
        outcome = self.bank.write(
            self,
            "hold",
            "POST",
            f"/accounts/{account.id}/transactions",
            account.store,
            self._hold_body(value, settle, installments),
        )
        if outcome.ok:
            body = outcome.json()
            if body["value"] != value:
                self.bank.violation(f"hold: asked {value}, answered {body}")
            self.bank.record_hold(account, body, settle, installments)
            self.maybe_check(account)

    def hold_put_new(self, account: AccountInfo) -> None:
        tid = uuid.uuid4().hex.upper()
        value = self.amount(Decimal("5"), account.limit / 5)
        installments = self.rng.randint(1, 3)
        outcome = self.bank.write(
            self,
            "hold_put_new",
            "PUT",
            f"/accounts/{account.id}/transactions/{tid}",
            account.store,
            self._hold_body(value, True, installments),
        )
        if outcome.ok:
            body = outcome.json()
            if body["id"] != tid:
                self.bank.violation(f"hold_put_new: asked id {tid}, answered {body}")
            self.bank.record_hold(account, body, True, installments)

    def hold_update(self, account: AccountInfo) -> None:
        tx = self.bank.pick_transaction(self.rng, account, settled=False)
        if tx is None:
            return self.hold(account)
        value = money(tx.hold_value * Decimal(str(self.rng.uniform(0.6, 1.3))))
        if value <= 0:
            value = Decimal("1.00")
        outcome = self.bank.write(
            self,
            "hold_update",
            "PUT",
            f"/accounts/{account.id}/transactions/{tx.id}",
            account.store,
            f'{{"value": {self.number(value)}, "settle": {json.dumps(tx.settle)}, '
            f'"installments": {tx.installments}}}',
        )
        if outcome.ok:
            with self.bank.lock:
                tx.hold_value = outcome.json()["value"]
            self.maybe_check(account)

    def hold_cancel(self, account: AccountInfo) -> None:
        tx = self.bank.pick_transaction(self.rng, account, settled=False)
        if tx is not None:
            self.bank.write(
                self, "hold_cancel", "DELETE", f"/accounts/{account.id}/transactions/{tx.id}", account.store
            )

    def _settle(self, op: str, tx: TxInfo, value: Decimal) -> Outcome:
        account = tx.account
        outcome = self.bank.write(
            self,
            op,
            "PUT",
            f"/accounts/{account.id}/transactions/{tx.id}/settlement",
            account.store,
            f'{{"value": {self.number(value)}}}',
        )
        if outcome.ok:
            body = outcome.json()
            if body != {"id": tx.id, "value": value}:
                self.bank.violation(f"{op}: settled {tx.id} at {value}, answered {body}")
            with self.bank.lock:
                tx.settled_cents_2xx.add(cents(value))
                tx.last_settled = value
            self.maybe_check(account)
        return outcome

    def settle(self, account: AccountInfo) -> None:
        tx = self.bank.pick_transaction(self.rng, account, settled=False)
        if tx is None:
            return self.hold(account)
        factor = Decimal(str(self.rng.choice([1, 1, 1, 0.8, 0.95, 1.1, 1.2, 1.3])))
        self._settle("settle", tx, max(money(tx.hold_value * factor), CENT))

    def settle_repeat(self, account: AccountInfo) -> None:
        tx = self.bank.pick_transaction(self.rng, account, settled=True)
        if tx is not None:
            self._settle("settle_repeat", tx, tx.last_settled)

    def settle_change(self, account: AccountInfo) -> None:
        tx = self.bank.pick_transaction(self.rng, account, settled=True)
        if tx is not None:
            factor = Decimal(str(self.rng.uniform(0.6, 1.15)))
            self._settle("settle_change", tx, max(money(tx.last_settled * factor), CENT))

    def _invoice_path(self, account: AccountInfo, invoice_id: str) -> str:
        return f"/accounts/{account.id}/invoices/{invoice_id}"

    def pay_full(self, account: AccountInfo) -> None:
        picked = self.bank.pick_invoice(self.rng, account)
        if picked is None:
            return
        _tx, invoice_id = picked
        outcome = self.bank.write(
            self, "pay_full", "POST", self._invoice_path(account, invoice_id) + "/payments", account.store
        )
        if outcome.ok:
            body = outcome.json()
            if body["status"] != "Paid" or body["creditValue"] != body["value"]:
                self.bank.violation(f"pay_full: {invoice_id} answered {body}")
            with self.bank.lock:
                self.bank.invoices[invoice_id].full_2xx += 1

    def pay_partial(self, account: AccountInfo) -> None:
        picked = self.bank.pick_invoice(self.rng, account)
        if picked is None:
            return
        _tx, invoice_id = picked
        path = self._invoice_path(account, invoice_id)
        value = self.amount(Decimal("0.01"), Decimal("30"))
        if self.rng.random() < 0.5:
            seen = self.bank.read(self, "read_invoice", path, account.store)
            if seen.ok:
                body = seen.json()
                owed = body["value"] - body["creditValue"]
                if owed > 0:
                    value = self.amount(CENT, owed) if self.rng.random() < 0.7 else owed
        outcome = self.bank.write(
            self,
            "pay_partial",
            "POST",
            path + "/payments",
            account.store,
            f'{{"value": {self.number(value)}}}',
        )
        if outcome.ok:
            body = outcome.json()
            if body["creditValue"] > body["value"]:
                self.bank.violation(f"pay_partial: {invoice_id} paid beyond its value: {body}")
            with self.bank.lock:
                track = self.bank.invoices[invoice_id]
                track.partial_2xx += 1
                track.partial_cents_2xx += cents(value)

    def pay_put(self, account: AccountInfo) -> None:
        picked = self.bank.pick_invoice(self.rng, account)
        if picked is None:
            return
        _tx, invoice_id = picked
        outcome = self.bank.write(
            self,
            "pay_put",
            "PUT",
            self._invoice_path(account, invoice_id),
            account.store,
            '{"status": "Paid", "observation": "paid at the counter"}',
        )
        if outcome.ok:
            with self.bank.lock:
                self.bank.invoices[invoice_id].full_2xx += 1

    def pay_reversal(self, account: AccountInfo) -> None:
        if account.monotone:
            return self.pay_full(account)
        picked = self.bank.pick_invoice(self.rng, account)
        if picked is None:
            return
        _tx, invoice_id = picked
        self._lowering_write(
            account, "pay_reversal", "PUT", self._invoice_path(account, invoice_id), '{"status": "Opened"}'
        )

    def invoice_cancel(self, account: AccountInfo) -> None:
        picked = self.bank.pick_invoice(self.rng, account)
        if picked is not None:
            outcome = self.bank.write(
                self, "invoice_cancel", "DELETE", self._invoice_path(account, picked[1]), account.store
            )
            if outcome.ok:
                with self.bank.lock:
                    self.bank.invoices[picked[1]].cancel_2xx += 1

    def invoice_cancel_put(self, account: AccountInfo) -> None:
        picked = self.bank.pick_invoice(self.rng, account)
        if picked is not None:
            outcome = self.bank.write(
                self,
                "invoice_cancel_put",
                "PUT",
                self._invoice_path(account, picked[1]),
                account.store,
                '{"status": "Cancelled"}',
            )
            if outcome.ok:
                with self.bank.lock:
                    self.bank.invoices[picked[1]].cancel_2xx += 1

    def refund(self, account: AccountInfo) -> None:
        tx = self.bank.pick_transaction(self.rng, account, settled=True)
        if tx is None:
            return
        value = max(money(tx.last_settled * Decimal(str(self.rng.uniform(0.05, 0.6)))), CENT)
        outcome = self.bank.write(
            self,
            "refund",
            "POST",
            f"/accounts/{account.id}/transactions/{tx.id}/refunds",
            account.store,
            f'{{"value": {self.number(value)}}}',
        )
        if outcome.ok:
            if outcome.json() != {"value": value}:
                self.bank.violation(f"refund: {tx.id} asked {value}, answered {outcome.raw!r}")
            with self.bank.lock:
                tx.refunded_cents_2xx += cents(value)

    def refund_burst(self, account: AccountInfo) -> None:
        """A purchase of its own, then its whole refund sent four times at once with one key:
        every copy must answer the same 2xx and the refund must count once."""
        value = self.amount(Decimal("1"), Decimal("20"))
        held = self.bank.write(
            self,
            "hold",
            "POST",
            f"/accounts/{account.id}/transactions",
            account.store,
            f'{{"value": "{value}", "settle": true, "installments": 2}}',
        )
        if not held.ok:
            return
        body = held.json()
        tid = body["id"]
        settled = self.bank.write(
            self,
            "settle",
            "PUT",
            f"/accounts/{account.id}/transactions/{tid}/settlement",
            account.store,
            f'{{"value": "{value}"}}',
        )
        # Shared with the other clients only after the burst, so that nobody else refunds it.
        tx = TxInfo(id=tid, account=account, settle=True, installments=2, hold_value=body["value"])
        try:
            if settled.ok:
                tx.settled_cents_2xx.add(cents(value))
                tx.last_settled = value
                self._burst(account, tx, value)
        finally:
            with self.bank.lock:
                self.bank.transactions[tid] = tx
                account.transactions.append(tid)

    def _burst(self, account: AccountInfo, tx: TxInfo, value: Decimal) -> None:
        tid = tx.id
        headers = {
            **account.store.headers,
            "Content-Type": "application/json",
            "Idempotency-Key": f"burst-{uuid.uuid4().hex}",
        }
        path = f"/accounts/{account.id}/transactions/{tid}/refunds"
        content = f'{{"value": "{value}"}}'.encode()
        answers: list[Outcome] = []
        clients = [self.bank.new_client() for _ in range(4)]
        barrier = threading.Barrier(len(clients))

        def send(client):
            barrier.wait()
            answers.append(self.bank._send(client, "POST", path, headers, content))

        threads = [threading.Thread(target=send, args=(client,)) for client in clients]
        with self.bank.lock:
            self.bank.ops["refund_burst"] += 1
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for client in clients:
            client.close()
        for outcome in answers:
            self.bank._note("refund_burst", outcome, "POST", path)
        # A copy that arrives while the first executes is told "in progress" (domain.md, Retries).
        settled = [outcome for outcome in answers if outcome.code() != "IdempotencyKeyInProgress"]
        distinct = {(outcome.status, outcome.raw) for outcome in settled}
        if len(distinct) != 1 or not settled[0].ok:
            self.bank.violation(
                f"refund_burst: one refund sent 4 times at once with one Idempotency-Key got "
                f"{sorted((status, raw[:120]) for status, raw in distinct)}"
            )
        if any(outcome.ok for outcome in answers):
            tx.refunded_cents_2xx += cents(value)

    def tiny_purchase(self, account: AccountInfo) -> None:
        """A purchase of fewer cents than installments, settled, then settled one cent higher:
        no invoice may be issued owing nothing."""
        value = Decimal(self.rng.randint(5, 9)) / 100
        installments = self.rng.randint(10, 12)
        held = self.bank.write(
            self,
            "hold",
            "POST",
            f"/accounts/{account.id}/transactions",
            account.store,
            f'{{"value": "{value}", "settle": true, "installments": {installments}}}',
        )
        if not held.ok:
            return
        body = held.json()
        self.bank.record_hold(account, body, True, installments)
        tx = self.bank.transactions[body["id"]]
        if self._settle("settle", tx, value).ok:
            self._settle("settle_change", tx, value + CENT)

    def postpone(self, account: AccountInfo) -> None:
        picked = self.bank.pick_invoice(self.rng, account)
        if picked is not None:
            self.bank.write(
                self,
                "postpone",
                "PUT",
                self._invoice_path(account, picked[1]) + "/postponement",
                account.store,
                f'{{"dueDays": {self.rng.randint(1, 15)}}}',
            )

    def credit_limit(self, account: AccountInfo) -> None:
        path = f"/accounts/{account.id}/creditlimit"
        if account.monotone:
            with account.change_lock:
                value = account.limit + self.rng.randrange(10, 300, 10)
                outcome = self.bank.write(
                    self, "credit_limit", "PUT", path, account.store, f'{{"value": {self.number(value)}}}'
                )
                if outcome.ok:
                    account.limit = value
            return
        value = Decimal(self.rng.randrange(300, 4000, 50))
        outcome = self._lowering_write(
            account, "credit_limit", "PUT", path, f'{{"value": {self.number(value)}}}'
        )
        if outcome.ok:
            with self.bank.lock:
                account.limits_2xx.add(value)
                account.limit = value

    def tolerance(self, account: AccountInfo) -> None:
        path = f"/accounts/{account.id}/tolerance"
        if account.monotone:
            with account.change_lock:
                if account.tolerance >= Decimal("0.5"):
                    return self.read_account(account)
                value = account.tolerance + Decimal("0.01")
                outcome = self.bank.write(
                    self, "tolerance", "PUT", path, account.store, f'{{"value": "{value}"}}'
                )
                if outcome.ok:
                    account.tolerance = value
            return
        value = Decimal(self.rng.choice(["0", "0.05", "0.1", "0.15", "0.3"]))
        outcome = self._lowering_write(
            account, "tolerance", "PUT", path, f'{{"value": {self.number(value)}}}'
        )
        if outcome.ok:
            with self.bank.lock:
                account.tolerances_2xx.add(value)

    def debit(self, account: AccountInfo) -> None:
        if account.monotone:
            return self.read_account(account)
        statement_id = f"debit-{uuid.uuid4().hex[:16]}"
        value = self.amount(Decimal("0.5"), Decimal("25"))
        outcome = self._lowering_write(
            account,
            "debit",
            "PUT",
            f"/accounts/{account.id}/statements/{statement_id}",
            f'{{"value": "-{value}"}}',
        )
        if outcome.ok:
            with self.bank.lock:
                account.debits_2xx[statement_id] = cents(value)

    def open_race(self, account: AccountInfo) -> None:
        """Three simultaneous openings of one new customer: exactly one 2xx."""
        store = account.store
        document = f"{self.rng.randrange(10**10, 10**11)}"
        body = (
            f'{{"document": "{document}", "documentType": "CPF", '
            f'"email": "race-{document}@example.com", "creditLimit": "500"}}'
        ).encode()
        clients = [self.bank.new_client() for _ in range(3)]
        barrier = threading.Barrier(len(clients))
        answers: list[Outcome] = []

        def send(client):
            headers = {
                **store.headers,
                "Content-Type": "application/json",
                "Idempotency-Key": f"race-{uuid.uuid4().hex}",
            }
            barrier.wait()
            answers.append(self.bank._send(client, "POST", "/accounts", headers, body))

        threads = [threading.Thread(target=send, args=(client,)) for client in clients]
        with self.bank.lock:
            self.bank.ops["open_race"] += 1
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for client in clients:
            client.close()
        for outcome in answers:
            self.bank._note("open_race", outcome, "POST", "/accounts")
        winners = [outcome for outcome in answers if outcome.ok]
        if len(winners) != 1 or any(o.status != 409 for o in answers if not o.ok):
            self.bank.violation(
                f"open_race: 3 simultaneous openings of {document}_CPF answered "
                f"{[(o.status, o.code()) for o in answers]}"
            )
        if winners:
            opened = winners[0].json()
            with self.bank.lock:
                self.bank.accounts.append(
                    AccountInfo(
                        id=opened["id"],
                        store=store,
                        monotone=False,
                        initial_limit=Decimal(500),
                        initial_tolerance=Decimal(0),
                        limit=Decimal(500),
                        tolerance=Decimal(0),
                    )
                )

    def maybe_check(self, account: AccountInfo) -> None:
        """After a hold, a hold growth or a settlement, now and then read the figures back."""
        if self.rng.random() < 0.3:
            self.read_account(account)

    def read_account(self, account: AccountInfo) -> None:
        before = self.bank.lowering_mark(account)
        outcome = self.bank.read(self, "read_account", f"/accounts/{account.id}", account.store)
        if outcome.ok:
            self.bank.check_figures(account, outcome.json(), before)

    def read_invoices(self, account: AccountInfo) -> None:
        outcome = self.bank.read(
            self, "read_invoices", f"/accounts/{account.id}/invoices?from=1&to=50", account.store
        )
        if outcome.ok:
            body = outcome.json()
            for invoice in body["data"]:
                if invoice["creditValue"] > invoice["value"]:
                    self.bank.violation(f"read_invoices: {invoice['id']} paid beyond its value")

    def read_statements(self, account: AccountInfo) -> None:
        outcome = self.bank.read(self, "read_statements", f"/accounts/{account.id}/statements", account.store)
        if outcome.ok:
            body = outcome.json()
            moved = sum(
                (entry["value"] for entry in body["statements"] if entry["origin"] != "Credit"), Decimal(0)
            )
            if body["previousBalance"] + moved != body["currentBalance"]:
                self.bank.violation(
                    f"read_statements: {account.id}: previous {body['previousBalance']} + entries {moved} != "
                    f"current {body['currentBalance']}"
                )


def check_books(database, store_ids: list[int]) -> list[str]:
    """The database on its own: figures equal the ledger, and every transaction and invoice
    agrees with its ledger entries. Used by the bank and the crash tests."""
    from sqlalchemy import select

    from customer_credit.accounts.models import Account
    from customer_credit.invoices.models import CANCELLED, OPENED, PAID, Invoice
    from customer_credit.ledger.models import INVOICE, PAYMENT, Statement
    from customer_credit.ledger.service import recompute_mismatches
    from customer_credit.transactions.models import AUTHORIZED, SETTLED, Transaction

    problems = []
    with database.read() as session:
        for store_id in store_ids:
            for mismatch in recompute_mismatches(session, store_id):
                problems.append(
                    f"account {mismatch.public_id}: stored {mismatch.field} {mismatch.stored} cents, "
                    f"the ledger gives {mismatch.recomputed}"
                )
        accounts = {
            row.id: row for row in session.scalars(select(Account).where(Account.store_id.in_(store_ids)))
        }
        transactions = list(session.scalars(select(Transaction).where(Transaction.store_id.in_(store_ids))))
        invoices = list(session.scalars(select(Invoice).where(Invoice.store_id.in_(store_ids))))
        entries = list(session.scalars(select(Statement).where(Statement.store_id.in_(store_ids))))
        session.expunge_all()  # the rows stay readable after the read transaction ends

    settlement_sum: Counter[tuple[int, str]] = Counter()
    settlement_count: Counter[tuple[int, str]] = Counter()
    refund_sum: Counter[tuple[int, str]] = Counter()
    payment_sum: Counter[tuple[int, str]] = Counter()
    cancellations: Counter[tuple[int, str]] = Counter()
    for entry in entries:
        meta = entry.meta or {}
        if "transactionId" not in meta:
            continue
        tx_key = (entry.store_id, meta["transactionId"])
        if "installment" in meta:
            invoice_key = (entry.store_id, f"{meta['transactionId']}-{int(meta['installment']):02d}")
            if entry.origin == PAYMENT:
                payment_sum[invoice_key] += entry.value_cents
            elif entry.origin == INVOICE and meta.get("cancelled"):
                cancellations[invoice_key] += 1
        elif entry.origin == INVOICE and meta.get("refund"):
            refund_sum[tx_key] += entry.value_cents
        elif entry.origin == INVOICE:
            settlement_sum[tx_key] -= entry.value_cents
            settlement_count[tx_key] += 1

    invoices_of: dict[int, list] = defaultdict(list)
    for invoice in invoices:
        invoices_of[invoice.transaction_id].append(invoice)
        key = (invoice.store_id, invoice.public_id)
        if not 0 <= invoice.paid_cents <= invoice.value_cents:
            problems.append(
                f"invoice {invoice.public_id}: paid {invoice.paid_cents} of {invoice.value_cents}"
            )
        if payment_sum[key] != invoice.paid_cents:
            problems.append(
                f"invoice {invoice.public_id}: Payment entries add up to {payment_sum[key]} cents, "
                f"creditValue is {invoice.paid_cents}"
            )
        if cancellations[key] > 1:
            problems.append(f"invoice {invoice.public_id}: cancelled {cancellations[key]} times")
        if cancellations[key] and invoice.status != CANCELLED:
            problems.append(f"invoice {invoice.public_id}: has a cancellation entry, status {invoice.status}")
        if invoice.status == PAID and invoice.paid_cents != invoice.value_cents:
            problems.append(
                f"invoice {invoice.public_id}: Paid with {invoice.paid_cents} of {invoice.value_cents}"
            )
        if invoice.status == OPENED and invoice.paid_cents >= invoice.value_cents:
            problems.append(f"invoice {invoice.public_id}: Opened but nothing owed")
        if invoice.status != OPENED and invoice.resolved_at is None:
            problems.append(f"invoice {invoice.public_id}: {invoice.status} without resolvedAt")

    for tx in transactions:
        key = (tx.store_id, tx.public_id)
        own = invoices_of[tx.id]
        if tx.account_id not in accounts:
            problems.append(
                f"transaction {tx.public_id}: account #{tx.account_id} outside the stores checked"
            )
        if tx.status == AUTHORIZED:
            if tx.hold_cents <= 0:
                problems.append(f"transaction {tx.public_id}: a live hold of {tx.hold_cents} cents")
        elif tx.hold_cents != 0:
            problems.append(f"transaction {tx.public_id}: {tx.status} still holds {tx.hold_cents} cents")
        if tx.status == SETTLED:
            if not own:
                problems.append(f"transaction {tx.public_id}: settled without invoices")
            if settlement_count[key] == 0:
                problems.append(f"transaction {tx.public_id}: settled without a settlement entry")
            if settlement_sum[key] != tx.settled_cents:
                problems.append(
                    f"transaction {tx.public_id}: settlement entries add up to {settlement_sum[key]} cents, "
                    f"settled value is {tx.settled_cents}"
                )
            if refund_sum[key] != tx.refunded_cents:
                problems.append(
                    f"transaction {tx.public_id}: refund entries add up to {refund_sum[key]}, "
                    f"refunded is {tx.refunded_cents}"
                )
            expected = tx.settled_cents - (tx.refunded_cents - tx.refund_excess_cents)
            total = sum(invoice.value_cents for invoice in own)
            if total != expected:
                problems.append(
                    f"transaction {tx.public_id}: invoices add up to {total} cents, settled − (refunded − "
                    f"excess) = {tx.settled_cents} − ({tx.refunded_cents} − {tx.refund_excess_cents}) "
                    f"= {expected}"
                )
            numbers = sorted(invoice.installment for invoice in own)
            if numbers != list(range(1, len(own) + 1)):
                problems.append(f"transaction {tx.public_id}: installments {numbers}")
            if not 0 <= tx.refund_excess_cents <= tx.refunded_cents <= tx.settled_cents:
                problems.append(f"transaction {tx.public_id}: refunds out of bounds")
        else:
            if own or settlement_count[key] or refund_sum[key] or tx.settled_cents or tx.refunded_cents:
                problems.append(f"transaction {tx.public_id}: {tx.status} but has settlement traces")
    return problems


def server_log_problems(log_text: str) -> list[str]:
    """Unhandled errors the server logged (each is a 500 somewhere, or a failing job)."""
    problems = []
    for line in log_text.splitlines():
        if '"level": "ERROR"' in line or '"level":"ERROR"' in line or "Traceback" in line:
            problems.append(f"server log: {line[:400]}")
    return problems


def run_bank(database_url: str, data_dir, config: BankConfig, *, out=print) -> Bank:
    """Provisions two stores (tolerance on and off), starts a real server, runs the load,
    stops the server and checks the books. Returns the bank with its report and violations."""
    from pathlib import Path

    from loadgen.server import ServerProcess, open_database, provision

    data_dir = Path(data_dir)
    specs = []
    for tolerance_enabled in (True, False):
        credential = provision(database_url, data_dir)
        specs.append(StoreSpec(credential.store_id, credential.headers, tolerance_enabled))
    server = ServerProcess(
        database_url,
        data_dir,
        env={"CUSTOMER_CREDIT_RUN_WORKER_IN_PROCESS": "true", "CUSTOMER_CREDIT_WORKER_INTERVAL_S": "1"},
    )
    with server:
        bank = Bank(server.base_url, specs, config)
        bank.setup()
        bank.run()
    for message in server_log_problems(server.log_text()):
        bank.violation(message)
    database = open_database(database_url, data_dir)
    try:
        bank.verify_database(database)
    finally:
        database.dispose()
    out(bank.summary())
    return bank
