"""One benchmark run: build the databases, start the real server, drive every scenario,
profile, check the books, write the report."""

import inspect
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench import console, data, machine, pgbench, profiling, scenarios, wrk
from bench.report import LoadInfo, Report, render
from bench.results import Row, Target
from bench.scale import ScaleOut, run_scale
from bench.scenarios import Load
from bench.server import Server
from customer_credit.ledger.statements import STATEMENTS_PAGE

ROOT = Path(__file__).resolve().parent.parent
SEARCHES = (
    "by account",
    "status + due-date range",
    "friendlyId",
    "observation substring (a reference number)",
    "op=or (friendlyId or creditAccountId)",
    "unfiltered",
    "observation substring (a common phrase)",
)
TARGET_SEARCHES = SEARCHES[:5]
# Resident memory moves by a few MiB with allocator noise; more than this between two identical
# runs counts as growth.
RSS_NOISE_MIB = 5.0


@dataclass
class Options:
    accounts: int = 100_000
    invoices: int = 1_000_000
    small_accounts: int = 1_000
    small_invoices: int = 10_000
    sqlite_accounts: int = 100_000
    sqlite_invoices: int = 1_000_000
    connections: int = 32
    duration_s: float = 15
    search_connections: int = 2
    search_duration_s: float = 8
    warmup_s: float = 3
    profile_s: float = 10
    workers: int = 2
    seed: int = 2024
    profile: bool = True
    plans: bool = True
    sqlite: bool = True
    growth: bool = True
    bank: bool = True
    # The reads and the purchase cycle on 1, then 2 server processes (bench/scale.py).
    scale: bool = True
    scale_duration_s: float = 8
    bank_args: list[str] = field(default_factory=list)
    # The console's pages, one operator at a browser, on a book of their own (bench/console.py).
    console: bool = True
    console_accounts: int = 10_000
    console_invoices: int = 100_000
    console_requests: int = 20
    console_warmup: int = 3
    # "console": only the console scenario (PostgreSQL, and SQLite unless --no-sqlite).
    only: str | None = None
    keep: bool = False
    growth_searches: tuple[str, ...] = TARGET_SEARCHES + ("unfiltered",)
    out: Path = ROOT / "bench" / "results" / "latest.md"
    workdir: Path = ROOT / "var" / "bench"

    @classmethod
    def smoke(cls, workdir: Path, out: Path) -> "Options":
        """Seconds, tiny data: the variant `make test` runs so that this code cannot rot."""
        return cls(
            accounts=40,
            invoices=400,
            small_accounts=10,
            small_invoices=100,
            sqlite_accounts=40,
            sqlite_invoices=400,
            connections=4,
            duration_s=1,
            search_connections=1,
            search_duration_s=1,
            warmup_s=0,
            profile_s=1,
            workers=2,
            profile=False,
            plans=True,
            bank=False,
            scale_duration_s=1,
            console_accounts=10,
            console_invoices=100,
            console_requests=1,
            console_warmup=0,
            out=out,
            workdir=workdir,
            growth_searches=("by account",),
        )

    @property
    def load(self) -> Load:
        return Load(self.connections, self.duration_s, self.search_connections, self.search_duration_s)


@dataclass
class Outcome:
    """What the run found, for callers (the smoke test) as well as for the report."""

    report: Report
    rows: dict[str, Row] = field(default_factory=dict)
    hot: scenarios.HotCheck | None = None
    checkout: scenarios.CheckoutCheck | None = None
    cycle_statements: int = 0
    cycle_round_trips: int = 0
    statements: scenarios.StatementsProbe | None = None
    pgbench_statements: int = 0
    pgbench_result: pgbench.PgbenchResult | None = None
    growth: dict[str, tuple[float, float]] = field(default_factory=dict)
    rss: dict[str, dict[int, float]] = field(default_factory=dict)
    scale: ScaleOut | None = None


def _database_label(version: str, invoices: int) -> str:
    name = version if version.startswith("SQLite") else f"PostgreSQL {version}"
    return f"{name}, {invoices:,} invoices"


def _warm(server: Server, ds: data.Dataset, options: Options, workdir: Path) -> None:
    """Fills the server's caches and PostgreSQL's prepared statements before measuring."""
    if options.warmup_s <= 0:
        return
    warm = Load(options.connections, options.warmup_s, options.search_connections, options.warmup_s)
    scenarios.reads(server, ds, warm, "", workdir)
    scenarios.purchase_cycle(server, ds, warm, "", workdir)


def _rss(server: Server, outcome: Outcome, key: str, when: str) -> None:
    values = server.rss()
    outcome.rss[key] = values
    outcome.report.memory.append((when, ", ".join(f"{mib:.1f} MiB" for mib in values.values()) or "—"))


def run(options: Options) -> Outcome:
    if options.only == "console":
        return run_console_only(options)
    wrk.ensure_wrk()
    workdir = options.workdir
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    report = Report(machine=machine.describe(), load_before=machine.load_average())
    outcome = Outcome(report=report)
    load = options.load
    report.setup = {
        "server": f"`customer-credit serve --workers {options.workers}`: uvicorn, {options.workers} worker "
        "processes (uvloop, httptools), sync routes in its thread pool; `customer-credit worker` "
        "beside it; all on 127.0.0.1, sharing the cores with PostgreSQL and wrk",
        "load generator": f"{wrk.version()}, a separate process; {options.connections} connections "
        f"(the purchase cycle: one thread per connection), Lua scripts in bench/lua; "
        f"searches with {options.search_connections} connections",
        "durations": f"{options.duration_s:g} s per run ({options.search_duration_s:g} s per search), "
        f"after {options.warmup_s:g} s of warm-up",
    }
    pg_name = f"cc_bench_{os.getpid()}"
    small_name = f"cc_bench_small_{os.getpid()}"
    console_name = f"cc_console_bench_{os.getpid()}"
    try:
        _postgresql(options, report, outcome, pg_name, workdir, load)
        if options.growth:
            _growth(options, report, outcome, small_name, workdir, load)
        if options.sqlite:
            _sqlite(options, report, outcome, workdir, load)
        if options.console:
            _console(options, report, outcome, console_name, workdir)
    finally:
        if not options.keep:
            data.drop_pg_database(pg_name)
            data.drop_pg_database(small_name)
            data.drop_pg_database(console_name)
    if options.bank:
        _bank(options, report)
    _targets(report, outcome)
    report.load_after = machine.load_average()
    cores = os.cpu_count() or 1
    # Only the load before the run tells of other work: afterwards it includes the benchmark's
    # own server, database, load generator and bank run.
    if report.load_before[0] > 0.75 * cores:
        report.notes.insert(
            0,
            (
                f"**Other work was running when this run started** (1-minute load average "
                f"{report.load_before[0]:.1f} on {cores} cores): throughput and latency are lower than on an "
                "idle machine. The CPU-per-request columns (from /proc) move much less with other load "
                "and are the figures to compare between runs."
            ),
        )
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(render(report))
    return outcome


def run_console_only(options: Options) -> Outcome:
    """`--only console`: the console's pages alone, a report of that section and its targets."""
    workdir = options.workdir
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    report = Report(machine=machine.describe(), load_before=machine.load_average())
    outcome = Outcome(report=report)
    report.setup = {
        "server": f"`customer-credit serve --workers {options.workers}`, no `customer-credit worker` "
        "(it would be writing the fresh book's overdue events); all on 127.0.0.1",
        "load generator": "httpx in the benchmark's process, one connection, one request at a time",
    }
    report.notes.append("A partial run (`python -m bench --only console`): the console scenario alone.")
    cores = os.cpu_count() or 1
    if report.load_before[0] > 0.75 * cores:
        report.notes.append(
            f"**Other work was running when this run started** (1-minute load average "
            f"{report.load_before[0]:.1f} on {cores} cores): latencies are higher than on an idle machine; "
            "compare the CPU-per-request columns between runs."
        )
    name = f"cc_console_bench_{os.getpid()}"
    try:
        _console(options, report, outcome, name, workdir)
    finally:
        if not options.keep:
            data.drop_pg_database(name)
    _targets(report, outcome)
    report.load_after = machine.load_average()
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(render(report))
    return outcome


def _console(options, report, outcome, name, workdir) -> None:
    """The console's GET pages on PostgreSQL (and SQLite), one operator signed in."""
    books = [("PostgreSQL", data.create_pg_database(name), "console-pg")]
    if options.sqlite:
        path = workdir / "console-sqlite" / "customer-credit.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        books.append(("SQLite", data.create_sqlite_database(path), "console-sqlite"))
    for title, url, label in books:
        book, rows = console.run_console(
            url,
            _database_label,
            accounts=options.console_accounts,
            invoices=options.console_invoices,
            seed=options.seed,
            workers=options.workers,
            workdir=workdir,
            name=label,
            requests=options.console_requests,
            warmup=options.console_warmup,
        )
        section = report.section(
            f"Console pages on {book.invoices:,} invoices ({title})",
            f"An admin operator signed in through the sign-in form; each GET page {options.console_warmup} "
            f"times unmeasured, then {options.console_requests} times in a row on one connection (httpx). "
            f"The target is p95 ≤ {console.TARGET_MS:.0f} ms. Machine: {report.machine['cores']} cores, "
            f"{report.machine['memory']}; database: {section_database(rows)}; {book.accounts:,} accounts.",
        )
        section.rows += rows
        for row in rows:
            outcome.rows[f"console {title} {row.label}"] = row
        report.checks.append((f"{title} console book, after the pages", data.check(url)))


def section_database(rows: list[Row]) -> str:
    return rows[0].database if rows else "—"


def _postgresql(options, report, outcome, name, workdir, load) -> None:
    url = data.create_pg_database(name)
    version = data.server_version(url)
    report.setup["PostgreSQL"] = f"{version} on 127.0.0.1 (the machine's own server, default settings)"
    ds = data.fill(
        url,
        "large",
        accounts=options.accounts,
        invoices=options.invoices,
        seed=options.seed,
        customers=options.connections,
    )
    database = _database_label(version, ds.invoices)
    report.loads.append(
        LoadInfo(
            f"PostgreSQL {version}",
            ds.accounts,
            ds.invoices,
            ds.load_rows,
            ds.load_seconds,
            data.check(url),
            ds.statistics_seconds,
        )
    )
    captured = pgbench.capture_cycle(
        url, account_public_id=ds.pgbench_accounts[-1], app_key=ds.app_key, app_token=ds.app_token
    )
    script = pgbench.MINIMAL_CYCLE.read_text()
    outcome.cycle_statements = len(captured.statements)
    outcome.cycle_round_trips = len(captured.steps)  # statements, BEGINs and COMMITs
    outcome.pgbench_statements = pgbench.statement_count(script)
    server = Server(url, workers=options.workers, data_dir=workdir / "pg", log_path=workdir / "server-pg.log")
    with server:
        _warm(server, ds, options, workdir)
        reference = scenarios.constant(server, ds, load, database)
        first = scenarios.reads(server, ds, load, database, workdir, "reads, run 1")
        _rss(server, outcome, "reads 1", "after reads run 1")
        second = scenarios.reads(server, ds, load, database, workdir, "reads, run 2")
        _rss(server, outcome, "reads 2", "after reads run 2")
        accounts_only = scenarios.reads(
            server, ds, load, database, workdir, "retrieve account alone", only_accounts=True
        )
        for row in (first, second, accounts_only):
            row.reference, row.ratio = "bare endpoint", row.throughput / max(reference.throughput, 1e-9)
        reads = report.section(
            "Reads (PostgreSQL)",
            f"{options.connections} connections on random accounts and invoices of the demo book. The "
            "reference is a bare endpoint of the same server returning a constant JSON. Machine: "
            f"{report.machine['cores']} cores, {report.machine['memory']}; database: {database}.",
        )
        reads.rows += [reference, first, second, accounts_only]
        outcome.rows.update(
            {"reference": reference, "reads": first, "reads 2": second, "get account": accounts_only}
        )

        cycle, _result = scenarios.purchase_cycle(server, ds, load, database, workdir)
        outcome.rows["cycle"] = cycle
        # The cycle's accounts now hold thousands of entries each.
        outcome.statements = scenarios.statements_probe(server, ds.cycle_accounts[0], ds.headers)
        hot, check = scenarios.hot_account(server, ds, load, database)
        outcome.rows["hot"], outcome.hot = hot, check
        hot_section = report.section(
            "Hot account (PostgreSQL)",
            f"{options.connections} connections pre-authorizing 0.01 on the same account. Afterwards the "
            "account's held credit must equal the sum of its live holds (no lost update) and every "
            f"accepted hold must be in the database. Machine: {report.machine['cores']} cores, "
            f"{report.machine['memory']}; database: {database}.",
        )
        hot_section.rows.append(hot)
        hot_section.extra.append(
            f"Accepted {check.accepted:,}; live holds written {check.holds_in_db:,}; held credit "
            f"{check.held_cents:,} cents for {check.expected_cents:,} one-cent holds; lost updates "
            f"{check.lost_updates}; `check` mismatches {check.mismatches}."
        )
        _checkout(server, ds, options, report, outcome, database, workdir)
        search_section = report.section(
            f"Invoice search on {ds.invoices:,} invoices (PostgreSQL)",
            f"`GET /api/creditcontrol/invoices` with each filter, the first page and its summary, "
            f"{options.search_connections} connections, random values of each filter from the demo "
            f"book. Machine: {report.machine['cores']} cores, {report.machine['memory']}; "
            f"database: {database}.",
        )
        for name in SEARCHES:
            row = scenarios.search(server, ds, load, database, workdir, name)
            if row is not None:
                search_section.rows.append(row)
                outcome.rows[f"search {name}"] = row
        if options.plans:
            _plans(options, report, ds, database)
        if options.profile:
            report.profiles.append(_profile_cycle(server, ds, options, workdir))
            report.profiles.append(_profile_search(server, ds, options, workdir))
        _rss(server, outcome, "end", "after the whole PostgreSQL benchmark")
    report.checks.append(("PostgreSQL, after the demo load", report.loads[-1].mismatches_after_load))
    report.checks.append(("PostgreSQL, after the benchmarks", data.check(url)))
    result = pgbench.run(
        url,
        script,
        store_id=ds.store_id,
        document_base=data.pgbench_document("72", 0),
        clients=len(ds.pgbench_accounts),
        duration_s=options.duration_s,
    )
    outcome.pgbench_result = result
    reference = Row(
        scenario="reference",
        label="pgbench, a hand-written minimal cycle (bench/sql/minimal-cycle.sql)",
        database=database,
        connections=result.clients,
        duration_s=result.duration_s,
        requests=result.cycles,
        throughput=result.cycles_per_s,
        unit="cycles/s",
        p50_ms=result.p50_ms,
        p95_ms=result.p95_ms,
        p99_ms=result.p99_ms,
        errors=result.failed,
        database_cpu_ms=result.database_cpu_s * 1000 / max(result.cycles, 1),
    )
    reference.notes.append("latency is per cycle (5 requests' statements)")
    cycle.reference, cycle.ratio = "pgbench", cycle.throughput / max(result.cycles_per_s, 1e-9)
    outcome.rows["pgbench"] = reference
    section = report.section(
        "Purchase cycle (PostgreSQL)",
        f"{len(ds.cycle_accounts)} customers at once, each on its own account: pre-authorize 30.00 in 3 "
        "installments, settle, pay the 3 invoices, again. The reference is pgbench running a "
        "hand-written minimal cycle for our schema ([minimal-cycle.sql](../sql/minimal-cycle.sql): "
        f"{outcome.pgbench_statements} statements in {script.count('BEGIN;')} transactions, one per API "
        "call, that keep the locks, the ledger and the outbox), not a replay of the service's SQL; the "
        f"service ran {outcome.cycle_statements} statements in {outcome.cycle_round_trips} round trips "
        f"for one cycle, captured in this run. {result.clients} clients on their own accounts, "
        "`-M prepared`. Machine: "
        f"{report.machine['cores']} cores, {report.machine['memory']}; database: {database}.",
    )
    section.rows += [reference, cycle]
    report.checks.append(("PostgreSQL, after pgbench", data.check(url)))
    if options.scale:
        outcome.scale = run_scale(
            report,
            outcome.rows,
            url,
            ds,
            workdir,
            connections=options.connections,
            duration_s=options.scale_duration_s,
            warmup_s=options.warmup_s,
            database=database,
        )
        report.checks.append(("PostgreSQL, after the scale-out runs", data.check(url)))


def _plans(options, report, ds, database) -> None:
    """EXPLAIN ANALYZE of one request of each search, into plans.md beside the report."""
    from bench.explain import explain_searches

    chosen = {}
    for name in SEARCHES:
        paths = ds.searches.get(name) or []
        if name == "status + due-date range":
            paths = [p for p in paths if "status=Opened" in p] or paths
        if paths:
            chosen[name] = paths[len(paths) // 2]
    lines = [
        "# Query plans of the invoice searches",
        "",
        f"Written by `make bench` with the report beside it; database: {database}. Each search went "
        "through the app; every statement it sent is shown with `EXPLAIN (ANALYZE, BUFFERS)` run "
        "with the same parameters right after it (so the pages are warm).",
        "",
        *explain_searches(ds.url, ds.headers, chosen),
    ]
    path = options.out.parent / "plans.md"
    path.write_text("\n".join(lines) + "\n")
    report.notes.append(f"Query plans of each search: [{path.name}]({path.name}).")


def _profile_cycle(server, ds, options, workdir) -> profiling.Profile:
    recorder = profiling.Recorder(
        server.worker_pids(), options.profile_s, workdir / "profiles", "purchase cycle"
    )
    recorder.start()
    scenarios.purchase_cycle(server, ds, Load(options.connections, options.profile_s, 1, 1), "", workdir)
    return recorder.finish()


def _profile_search(server, ds, options, workdir) -> profiling.Profile:
    mixed = [path for name in TARGET_SEARCHES + ("unfiltered",) for path in ds.searches.get(name, [])[:200]]
    listing = data.write_lines(workdir / "search-mixed.txt", mixed)
    recorder = profiling.Recorder(
        server.worker_pids(), options.profile_s, workdir / "profiles", "invoice search"
    )
    recorder.start()
    wrk.run(
        server.base_url,
        "search",
        [str(listing)],
        connections=options.search_connections,
        threads=max(1, min(2, options.search_connections)),
        duration_s=options.profile_s,
        headers=ds.headers,
    )
    return recorder.finish()


def _growth(options, report, outcome, name, workdir, load) -> None:
    url = data.create_pg_database(name)
    version = data.server_version(url)
    ds = data.fill(
        url,
        "small",
        accounts=options.small_accounts,
        invoices=options.small_invoices,
        seed=options.seed,
        customers=options.connections,
    )
    database = _database_label(version, ds.invoices)
    report.loads.append(
        LoadInfo(
            f"PostgreSQL {version} (growth)",
            ds.accounts,
            ds.invoices,
            ds.load_rows,
            ds.load_seconds,
            data.check(url),
            ds.statistics_seconds,
        )
    )
    server = Server(
        url, workers=options.workers, data_dir=workdir / "pg-small", log_path=workdir / "server-small.log"
    )
    rows = []
    with server:
        _warm(server, ds, options, workdir)
        small_reads = scenarios.reads(server, ds, load, database, workdir, "reads")
        rows.append(("reads", small_reads, outcome.rows.get("reads")))
        for search_name in options.growth_searches:
            row = scenarios.search(server, ds, load, database, workdir, search_name)
            if row is not None:
                rows.append((f"search {search_name}", row, outcome.rows.get(f"search {search_name}")))
    section = report.section(
        "Growth: 10,000 vs 1,000,000 invoices (PostgreSQL)",
        f"The same reads and searches on a book of {ds.invoices:,} invoices ({ds.accounts:,} accounts) "
        f"and on the large one above. Slowdown = large p95 / small p95 − 1 (and for reads, also the "
        f"throughput lost). Machine: {report.machine['cores']} cores, {report.machine['memory']}.",
    )
    section.extra += [
        "| run | small: throughput | small: p95 ms | large: throughput | large: p95 ms | p95 slowdown "
        "| throughput lost |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    growth = {}
    for label, small, large in rows:
        outcome.rows[f"growth {label}"] = small
        if large is None:
            continue
        slowdown = large.p95_ms / max(small.p95_ms, 1e-9) - 1
        lost = 1 - large.throughput / max(small.throughput, 1e-9)
        growth[label] = (slowdown, lost)
        section.extra.append(
            f"| {label} | {_fmt_rate(small)} | {small.p95_ms:.1f} | {_fmt_rate(large)} | "
            f"{large.p95_ms:.1f} | "
            f"{slowdown:+.0%} | {lost:+.0%} |"
        )
    outcome.report.checks.append(("PostgreSQL growth book, after the benchmarks", data.check(url)))
    outcome.growth = growth


def _checkout(server, ds, options, report, outcome, database, workdir) -> None:
    """VTEX's gateway creating payments on the checkout connector (docs/vtex-checkout.md)."""
    buyers = scenarios.checkout_buyers(ds, options.connections * scenarios.CHECKOUT_BUYERS_PER_CONNECTION)
    if options.warmup_s > 0:
        warm = Load(options.connections, options.warmup_s, options.search_connections, options.warmup_s)
        nonce = f"warm{uuid.uuid4().hex[:8]}"
        scenarios.checkout_payments(server, ds, warm, database, workdir, buyers, nonce)
    row, check = scenarios.checkout_payments(
        server, ds, options.load, database, workdir, buyers, f"run{uuid.uuid4().hex[:8]}"
    )
    outcome.rows["checkout"], outcome.checkout = row, check
    section = report.section(
        "Checkout payments (PostgreSQL)",
        f"VTEX's gateway creating payments, `POST /ppp/{{store}}/payments`, on {options.connections} "
        "connections at once: every request a new paymentId for the next of "
        f"{len(buyers):,} buyers (found by document), each answered with a hold on the buyer's account. "
        "The spec's limit is an answer within 5 s; the goal here is p99 ≤ 100 ms. Machine: "
        f"{report.machine['cores']} cores, {report.machine['memory']}; database: {database}.",
    )
    section.rows.append(row)


def _fmt_rate(row: Row) -> str:
    return f"{row.throughput:,.0f} {row.unit}"


def _sqlite(options, report, outcome, workdir, load) -> None:
    path = workdir / "sqlite" / "customer-credit.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    url = data.create_sqlite_database(path)
    version = data.server_version(url)
    report.setup["SQLite"] = f"{version}, WAL, a file in var/bench (the embedded mode)"
    ds = data.fill(
        url,
        "sqlite",
        accounts=options.sqlite_accounts,
        invoices=options.sqlite_invoices,
        seed=options.seed,
        customers=options.connections,
    )
    database = _database_label(version, ds.invoices)
    report.loads.append(
        LoadInfo(
            version,
            ds.accounts,
            ds.invoices,
            ds.load_rows,
            ds.load_seconds,
            data.check(url),
            ds.statistics_seconds,
        )
    )
    server = Server(
        url, workers=options.workers, data_dir=workdir / "sqlite", log_path=workdir / "server-sqlite.log"
    )
    with server:
        _warm(server, ds, options, workdir)
        reads = scenarios.reads(server, ds, load, database, workdir, "reads")
        cycle, _result = scenarios.purchase_cycle(server, ds, load, database, workdir)
    pg_reads, pg_cycle = outcome.rows.get("reads"), outcome.rows.get("cycle")
    if pg_reads:
        reads.reference, reads.ratio = "PostgreSQL reads", reads.throughput / max(pg_reads.throughput, 1e-9)
    if pg_cycle:
        cycle.reference, cycle.ratio = "PostgreSQL cycle", cycle.throughput / max(pg_cycle.throughput, 1e-9)
    outcome.rows["sqlite reads"], outcome.rows["sqlite cycle"] = reads, cycle
    section = report.section(
        "Embedded mode (SQLite)",
        f"The same reads and purchase cycle against the SQLite file, same server command and workers; "
        f"the reference is the PostgreSQL run above. Machine: {report.machine['cores']} cores, "
        f"{report.machine['memory']}; database: {database}.",
    )
    section.rows += [reads, cycle]
    report.checks.append(("SQLite, after the benchmarks", data.check(url)))


def _bank(options, report) -> None:
    """The long bank run, when bench/bank.py is there (another part of the project)."""
    try:
        from bench import bank
    except ImportError:
        report.notes.append("bench/bank.py is not present: no bank run.")
        return
    parameters = inspect.signature(bank.main).parameters
    offered = {"argv": list(options.bank_args), "smoke": False, "workdir": options.workdir / "bank"}
    kwargs = {name: value for name, value in offered.items() if name in parameters}
    started = time.perf_counter()
    result = bank.main(**kwargs)
    report.notes.append(f"The bank run (bench/bank.py) took {time.perf_counter() - started:.0f} s.")
    if isinstance(result, str) and result.strip():
        report.appendix += ["## Bank run", "", result.strip()]


def _targets(report: Report, outcome: Outcome) -> None:
    """Issue 15's targets (docs/performance.md): each with its measurement, met or not."""
    rows = outcome.rows
    targets = report.targets
    reads = rows.get("reads")
    if reads:
        targets.append(
            Target(
                "reads, 32 connections",
                "throughput ≥ 0.5 of the constant endpoint, p99 ≤ 20 ms",
                f"{reads.throughput:,.0f} req/s = {reads.ratio or 0:.2f} of the constant endpoint, "
                f"p99 {reads.p99_ms:.1f} ms",
                (reads.ratio or 0) >= 0.5 and reads.p99_ms <= 20 and reads.errors == 0,
            )
        )
    account_reads = rows.get("get account")
    if account_reads and account_reads.server_cpu_ms is not None:
        targets.append(
            Target(
                "GET account, server CPU",
                "≤ 0.6 ms per request",
                f"{account_reads.server_cpu_ms:.2f} ms per request "
                f"({account_reads.ratio or 0:.2f} of the constant endpoint's throughput)",
                account_reads.server_cpu_ms <= 0.6,
            )
        )
    cycle = rows.get("cycle")
    if cycle:
        per_cycle = None
        if cycle.server_cpu_ms is not None:
            per_cycle = (cycle.server_cpu_ms + (cycle.database_cpu_ms or 0)) * scenarios.REQUESTS_PER_CYCLE
        cpu_text = "—" if per_cycle is None else f"{per_cycle:.1f} ms server + PostgreSQL CPU per cycle"
        targets.append(
            Target(
                "purchase cycle, 32 customers",
                "server + PostgreSQL CPU ≤ 8 ms per cycle, ≥ 200 cycles/s, ≥ 0.4 of the pgbench cycle",
                f"{cpu_text}, {cycle.throughput:,.0f} cycles/s, ratio {cycle.ratio or 0:.2f}",
                per_cycle is not None
                and per_cycle <= 8
                and cycle.throughput >= 200
                and (cycle.ratio or 0) >= 0.4,
            )
        )
    hot = rows.get("hot")
    if hot and outcome.hot:
        check = outcome.hot
        targets.append(
            Target(
                "hot account, 32 clients",
                "≥ 300 holds/s, 0 lost updates, no 5xx",
                f"{hot.throughput:,.0f} holds/s, {hot.errors} errors, {check.lost_updates} lost updates",
                hot.throughput >= 300 and check.lost_updates == 0 and hot.errors == 0,
            )
        )
    probe = outcome.statements
    if probe is not None:
        targets.append(
            Target(
                "statements paged by default",
                f"a page of at most {STATEMENTS_PAGE} entries, with a cursor to the next one",
                f"{probe.entries:,} entries ({probe.body_bytes / 1024:,.0f} KiB, "
                f"{probe.elapsed_ms:.0f} ms) on the first page of an account of "
                f"{probe.walked_entries:,}; nextCursor {'given' if probe.next_cursor else 'absent'}; "
                f"{probe.pages_walked} pages walked",
                # Bounded, and a cursor exactly when there is more.
                probe.entries <= STATEMENTS_PAGE
                and probe.next_cursor == (probe.walked_entries > probe.entries),
            )
        )
    pooled = [
        (name, row.new_connections_10s)
        for name, row in rows.items()
        if row.new_connections_10s is not None and not name.startswith(("sqlite", "growth"))
    ]
    if pooled:
        worst_name, worst = max(pooled, key=lambda item: item[1])
        targets.append(
            Target(
                "the pool, steady state",
                "≈ 0 new PostgreSQL connections per 10 s",
                f"at most {worst} in a run's last 10 s ({worst_name}); {len(pooled)} runs measured",
                worst <= 1,
            )
        )
    checkout = rows.get("checkout")
    if checkout and outcome.checkout:
        approved = outcome.checkout.approved_answers
        targets.append(
            Target(
                "checkout payments, 32 checkouts",
                "p99 ≤ 100 ms, every payment approved",
                f"p99 {checkout.p99_ms:.1f} ms, p50 {checkout.p50_ms:.1f} ms, "
                f"{checkout.throughput:,.0f} payments/s; {approved:,} approved of {checkout.requests:,}",
                checkout.p99_ms <= 100 and checkout.errors == 0 and approved == checkout.requests,
            )
        )
    for name in TARGET_SEARCHES:
        row = rows.get(f"search {name}")
        if row:
            targets.append(
                Target(
                    f"search: {name}",
                    "p95 ≤ 50 ms",
                    f"p95 {row.p95_ms:.1f} ms",
                    row.p95_ms <= 50 and row.errors == 0,
                )
            )
    row = rows.get("search unfiltered")
    if row:
        targets.append(
            Target(
                "search: store-wide, unfiltered, with its exact summary",
                "p95 ≤ 50 ms at 1,000,000 invoices",
                f"p95 {row.p95_ms:.1f} ms",
                row.p95_ms <= 50 and row.errors == 0,
            )
        )
    console_rows = [row for name, row in rows.items() if name.startswith("console ")]
    for database in dict.fromkeys(row.database for row in console_rows):
        measured = [row for row in console_rows if row.database == database]
        slowest = max(measured, key=lambda row: row.p95_ms)
        targets.append(
            Target(
                f"console pages, {database}",
                f"every GET page p95 ≤ {console.TARGET_MS:.0f} ms",
                f"slowest: {slowest.label} p95 {slowest.p95_ms:.0f} ms; {len(measured)} pages",
                all(row.p95_ms <= console.TARGET_MS and row.errors == 0 for row in measured),
            )
        )
    sqlite_reads = rows.get("sqlite reads")
    if sqlite_reads:
        targets.append(
            Target(
                "SQLite reads",
                "≥ PostgreSQL's read throughput",
                f"{sqlite_reads.throughput:,.0f} req/s = {sqlite_reads.ratio or 0:.0%} of PostgreSQL",
                (sqlite_reads.ratio or 0) >= 1.0,
            )
        )
    sqlite_cycle = rows.get("sqlite cycle")
    if sqlite_cycle:
        targets.append(
            Target(
                "SQLite purchase cycle",
                "report",
                f"{sqlite_cycle.throughput:,.0f} cycles/s, p99 {sqlite_cycle.p99_ms:.1f} ms",
                None,
            )
        )
    for label, (slowdown, lost) in outcome.growth.items():
        worst = max(slowdown, lost)
        targets.append(
            Target(
                f"growth: {label}",
                "≤ 20 % slower at 1,000,000 invoices",
                f"p95 {slowdown:+.0%}, throughput {-lost:+.0%}",
                worst <= 0.20,
            )
        )
    rss = outcome.rss
    if {"reads 1", "reads 2", "end"} <= set(rss):
        peak = max(rss["end"].values(), default=0.0)
        growth = max((rss["reads 2"].get(pid, 0.0) - mib for pid, mib in rss["reads 1"].items()), default=0.0)
        targets.append(
            Target(
                "memory",
                f"≤ 300 MiB per worker after the benchmark; no growth between two read runs "
                f"(≤ {RSS_NOISE_MIB:g} MiB)",
                f"largest worker {peak:.0f} MiB after the benchmark; growth between the read runs "
                f"{growth:+.1f} MiB",
                peak <= 300 and growth <= RSS_NOISE_MIB,
            )
        )
    if outcome.scale is not None:
        ratios = outcome.scale.ratios
        targets.append(
            Target(
                "scale-out, 2 server processes",
                "report the throughput ratio to 1 process",
                f"reads ×{ratios['reads']:.2f}, purchase cycle ×{ratios['cycle']:.2f}",
                None,
            )
        )
    checks = [count for _when, count in report.checks]
    if checks:
        targets.append(
            Target(
                "`customer-credit check`",
                "0 mismatches after the load and the benchmarks",
                f"{sum(checks)} mismatches in {len(checks)} checks",
                sum(checks) == 0,
            )
        )
