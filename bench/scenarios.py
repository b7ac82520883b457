"""The scenarios: each drives the running server with wrk and returns what it measured."""

import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text

from bench import data, wrk
from bench.data import Dataset
from bench.results import Row
from bench.server import CpuMeter, Server
from customer_credit.bench_routes import PATH as CONSTANT_PATH

REQUESTS_PER_CYCLE = 5  # pre-authorization, settlement, three payments


@dataclass
class Load:
    connections: int
    duration_s: float
    search_connections: int
    search_duration_s: float


def _threads(connections: int) -> int:
    return max(1, min(2, connections))


@dataclass
class Measured:
    load: wrk.LoadResult
    server_cpu_s: float
    database_cpu_s: float
    new_connections_10s: int | None = None

    def attach(self, row: Row) -> Row:
        requests = max(self.load.requests, 1)
        row.server_cpu_ms = self.server_cpu_s * 1000 / requests
        row.database_cpu_ms = self.database_cpu_s * 1000 / requests if self.database_cpu_s else None
        row.new_connections_10s = self.new_connections_10s
        return row


def _drive(
    server: Server,
    ds: Dataset,
    scenario: str,
    args: list[str],
    *,
    connections: int,
    threads: int,
    duration_s: float,
    headers: dict | None,
) -> Measured:
    """One wrk run, with the CPU the server's workers and the database's backends spent on it."""
    workers = server.worker_pids()
    server_meter = CpuMeter(lambda: workers).start()
    backends = data.Backends(ds.url)
    database_meter = CpuMeter(backends).start()
    try:
        load = wrk.run(
            server.base_url,
            scenario,
            args,
            connections=connections,
            threads=threads,
            duration_s=duration_s,
            headers=headers,
            # Several server processes (bench/scale.py): wrk spreads its threads over them.
            spread_over_ports=getattr(server, "spread_ports", None),
        )
        # Right as the load ends, while the pool still holds what it opened: connections that
        # are younger than 10 s were opened during the run's steady state (after the warm-up).
        opened = backends.started_within(min(10.0, duration_s))
    finally:
        server_cpu_s, database_cpu_s = server_meter.stop(), database_meter.stop()
        backends.close()
    return Measured(load, server_cpu_s, database_cpu_s, opened)


def constant(server: Server, ds: Dataset, load: Load, database: str) -> Row:
    measured = _drive(
        server,
        ds,
        "constant",
        [CONSTANT_PATH],
        connections=load.connections,
        threads=_threads(load.connections),
        duration_s=load.duration_s,
        headers=None,
    )
    return measured.attach(
        Row.from_load(
            "reference", "bare endpoint, constant JSON (`GET /bench/constant`)", database, measured.load
        )
    )


def reads(
    server: Server,
    ds: Dataset,
    load: Load,
    database: str,
    workdir: Path,
    label: str = "",
    *,
    only_accounts: bool = False,
) -> Row:
    """GET account, GET invoice and the account's invoice list in equal parts, or (only_accounts)
    GET account alone, whose CPU per request has a target of its own."""
    pairs = data.write_lines(workdir / "read-pairs.txt", (f"{a} {i}" for a, i in ds.read_pairs))
    measured = _drive(
        server,
        ds,
        "reads",
        [str(pairs), "accounts" if only_accounts else "all"],
        connections=load.connections,
        threads=_threads(load.connections),
        duration_s=load.duration_s,
        headers=ds.headers,
    )
    return measured.attach(
        Row.from_load(
            "reads",
            label
            or (
                "retrieve account"
                if only_accounts
                else "retrieve account / retrieve invoice / list account's invoices, ⅓ each"
            ),
            database,
            measured.load,
        )
    )


def purchase_cycle(
    server: Server, ds: Dataset, load: Load, database: str, workdir: Path
) -> tuple[Row, wrk.LoadResult]:
    accounts = data.write_lines(workdir / "cycle-accounts.txt", ds.cycle_accounts)
    customers = min(load.connections, len(ds.cycle_accounts))
    measured = _drive(
        server,
        ds,
        "cycle",
        [str(accounts), data.CYCLE_VALUE],
        connections=customers,
        threads=customers,
        duration_s=load.duration_s,
        headers=ds.headers,
    )
    result = measured.load
    row = measured.attach(
        Row.from_load(
            "purchase cycle",
            "pre-auth → settlement in 3 installments → pay 3 invoices, one customer per connection",
            database,
            result,
            unit="cycles/s",
            per=REQUESTS_PER_CYCLE,
        )
    )
    # Completed cycles, not requests / 5: a cycle cut by the end of the run does not count.
    row.throughput = result.cycles / result.duration_s if result.duration_s else 0.0
    row.notes.append(
        f"{result.cycles:,} cycles completed, {result.broken_cycles} broken; latency is per request"
    )
    return row, result


@dataclass
class HotCheck:
    accepted: int
    holds_in_db: int
    held_cents: int
    expected_cents: int
    mismatches: int

    @property
    def lost_updates(self) -> int:
        """Accepted holds missing from the database, plus cents of held credit the account's
        stored figure lost against the sum of its live holds (requests still in flight when
        wrk stops may add holds it never counted; those are not lost)."""
        return max(0, self.accepted - self.holds_in_db) + abs(self.held_cents - self.expected_cents)


_HOT_STATE = (
    "select a.pre_authorized_cents, (select count(*) from transactions t where t.account_id = a.id "
    "and t.status = 'Authorized') from accounts a where a.store_id = :s and a.public_id = :p "
    "and a.status = 'Open'"
)


def _hot_state(ds: Dataset) -> tuple[int, int]:
    """The account's stored held credit and its live holds, read in one statement (one snapshot)."""
    db = data.database(ds.url)
    try:
        with db.read() as session:
            held, holds = session.execute(text(_HOT_STATE), {"s": ds.store_id, "p": ds.hot_account}).one()
            return int(held), int(holds)
    finally:
        db.dispose()


def hot_account(server: Server, ds: Dataset, load: Load, database: str) -> tuple[Row, HotCheck]:
    _held_before, before = _hot_state(ds)
    measured = _drive(
        server,
        ds,
        "hot",
        [ds.hot_account],
        connections=load.connections,
        threads=_threads(load.connections),
        duration_s=load.duration_s,
        headers=ds.headers,
    )
    result = measured.load
    time.sleep(1)  # requests still in flight when wrk stopped finish on the server
    held, live = _hot_state(ds)
    holds = live - before
    check = HotCheck(
        accepted=result.ok,
        holds_in_db=holds,
        held_cents=held,
        expected_cents=live,
        mismatches=data.check(ds.url, store_id=ds.store_id, account=ds.hot_account),
    )
    row = measured.attach(
        Row.from_load(
            "hot account",
            "pre-authorize 0.01 on one account from every connection",
            database,
            result,
            unit="holds/s",
        )
    )
    row.throughput = result.ok / result.duration_s if result.duration_s else 0.0
    row.notes.append(
        f"{result.ok:,} holds accepted, {holds:,} new live holds in the database, held credit "
        f"{held} cents for {live} holds of 1 cent; {result.server_errors} 5xx, "
        f"{result.conflicts} 409"
    )
    return row, check


def search(server: Server, ds: Dataset, load: Load, database: str, workdir: Path, name: str) -> Row | None:
    paths = ds.searches.get(name) or []
    if not paths:
        return None
    slug = "".join(ch if ch.isalnum() else "-" for ch in name)
    listing = data.write_lines(workdir / f"search-{slug}.txt", paths)
    measured = _drive(
        server,
        ds,
        "search",
        [str(listing)],
        connections=load.search_connections,
        threads=_threads(load.search_connections),
        duration_s=load.search_duration_s,
        headers=ds.headers,
    )
    return measured.attach(Row.from_load("search", name, database, measured.load))


# Buyers per connection for the checkout run: enough that two checkouts rarely wait on one
# account's lock, as with a store's many customers.
CHECKOUT_BUYERS_PER_CONNECTION = 8
CHECKOUT_VALUE = "30"
CHECKOUT_INSTALLMENTS = "3"
CHECKOUT_DOCUMENT_PREFIX = "74"


@dataclass
class CheckoutCheck:
    """What the checkout run left in the database: one approved payment and one live hold per
    approved answer (answers still in flight when wrk stopped may add a few more)."""

    approved_answers: int
    approved_in_db: int
    holds_in_db: int


def checkout_buyers(ds: Dataset, count: int) -> list[str]:
    """Opens `count` accounts, through the service like any other, with room for hours of
    checkouts; returns their documents (CPF), by which the gateway's requests name the buyers."""
    from customer_credit.accounts.service import open_account
    from customer_credit.auth.principal import Principal
    from customer_credit.auth.resources import MAIN_ACCESS

    principal = Principal(store_id=ds.store_id, name="bench@example.com", resources=frozenset([MAIN_ACCESS]))
    documents = [data.pgbench_document(CHECKOUT_DOCUMENT_PREFIX, index) for index in range(count)]
    db = data.database(ds.url)
    try:
        with db.write() as session:
            for document in documents:
                open_account(
                    session,
                    principal,
                    document=document,
                    document_type="CPF",
                    email=f"checkout-{document}@example.com",
                    credit_limit=Decimal("100000000"),
                )
    finally:
        db.dispose()
    return documents


_CHECKOUT_STATE = (
    "select (select count(*) from checkout_payments where store_id = :s and payment_id like :p "
    "and status = 'approved'), (select count(*) from transactions where store_id = :s "
    "and payment_id like :p and status = 'Authorized')"
)


def _checkout_state(ds: Dataset, nonce: str) -> tuple[int, int]:
    db = data.database(ds.url)
    try:
        with db.read() as session:
            approved, holds = session.execute(
                text(_CHECKOUT_STATE), {"s": ds.store_id, "p": f"{nonce}-%"}
            ).one()
            return int(approved), int(holds)
    finally:
        db.dispose()


def checkout_payments(
    server: Server,
    ds: Dataset,
    load: Load,
    database: str,
    workdir: Path,
    buyers: list[str],
    nonce: str,
    label: str = "",
) -> tuple[Row, CheckoutCheck]:
    """VTEX's gateway creating payments: `load.connections` concurrent checkouts, each request a
    new paymentId (prefixed with `nonce`) for the next buyer, 30.00 in 3 installments."""
    documents = data.write_lines(workdir / "checkout-buyers.txt", buyers)
    measured = _drive(
        server,
        ds,
        "checkout",
        [data.STORE, str(documents), CHECKOUT_VALUE, CHECKOUT_INSTALLMENTS, nonce],
        connections=load.connections,
        threads=_threads(load.connections),
        duration_s=load.duration_s,
        headers=ds.headers,
    )
    result = measured.load
    time.sleep(1)  # requests still in flight when wrk stopped finish on the server
    approved, holds = _checkout_state(ds, nonce)
    check = CheckoutCheck(approved_answers=result.cycles, approved_in_db=approved, holds_in_db=holds)
    row = measured.attach(
        Row.from_load(
            "checkout",
            label
            or f"`POST /ppp/{data.STORE}/payments`, a new paymentId each, {len(buyers):,} buyers in turn, "
            f"{CHECKOUT_VALUE} in {CHECKOUT_INSTALLMENTS} installments",
            database,
            result,
            unit="payments/s",
        )
    )
    row.notes.append(
        f"{result.cycles:,} approved, {result.broken_cycles:,} other 2xx answers, "
        f"{result.client_errors} 4xx, {result.server_errors} 5xx; in the database afterwards: "
        f"{approved:,} approved payments, {holds:,} live holds"
    )
    return row, check


@dataclass
class StatementsProbe:
    """One account's statements without `from`/`to`, as a client that never pages asks them."""

    account: str
    entries: int
    total: int | None
    next_cursor: bool
    body_bytes: int
    elapsed_ms: float
    pages_walked: int
    walked_entries: int


def statements_probe(
    server: Server, account: str, headers: dict, *, max_pages: int = 1000
) -> StatementsProbe:
    """GETs the account's statements page by page (following `nextCursor`), timing the first."""
    import json as _json
    import time as _time
    import urllib.parse
    import urllib.request

    base = f"{server.base_url}/api/creditcontrol/accounts/{urllib.parse.quote(account)}/statements"

    def fetch(url: str) -> tuple[dict, int, float]:
        started = _time.perf_counter()
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as answer:
            raw = answer.read()
        return _json.loads(raw), len(raw), (_time.perf_counter() - started) * 1000

    first, size, elapsed = fetch(base)
    pages, walked, page = 1, len(first.get("statements", [])), first
    while page.get("nextCursor") and pages < max_pages:
        page, _size, _elapsed = fetch(f"{base}?cursor={urllib.parse.quote(page['nextCursor'])}")
        pages += 1
        walked += len(page.get("statements", []))
    return StatementsProbe(
        account=account,
        entries=len(first.get("statements", [])),
        total=first.get("count"),
        next_cursor=bool(first.get("nextCursor")),
        body_bytes=size,
        elapsed_ms=elapsed,
        pages_walked=pages,
        walked_entries=walked,
    )
