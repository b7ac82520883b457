"""Scale-out: the read and purchase-cycle loads on one server process, then on two, and the
ratio of their throughputs (docs/scaling.md).

Each process is a `customer-credit serve --workers 1` of its own, with its own port, connection
pool and key cache, as two hosts behind a load balancer would be; wrk's threads take their ports
in turn (bench/lua/common.lua). Both runs use the same database and the same settings: when the
machine's Redis answers, the shared rate limiter is on (with a limit no run reaches), so each
request pays the round trip to Redis that a deployment of several nodes pays."""

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench import data, scenarios
from bench.report import Report
from bench.results import Row
from bench.scenarios import Load
from bench.server import Server, cpu_seconds

REDIS_URL = os.environ.get("CUSTOMER_CREDIT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
NO_LIMIT_REACHED = "1000000000"


class Nodes:
    """Several servers that the scenarios drive as one: the CPU of all of them is measured,
    and wrk spreads its threads over their ports."""

    def __init__(self, servers: list[Server]):
        self.servers = servers

    @property
    def base_url(self) -> str:
        return self.servers[0].base_url

    @property
    def spread_ports(self) -> list[int] | None:
        return [server.port for server in self.servers] if len(self.servers) > 1 else None

    def worker_pids(self) -> list[int]:
        return [pid for server in self.servers for pid in server.worker_pids()]


@dataclass
class ScaleOut:
    """Throughput with two processes over throughput with one, per load."""

    ratios: dict[str, float] = field(default_factory=dict)
    # CPU seconds each of the two processes spent on the two-process runs: both must have
    # served (wrk did spread its connections), and about evenly.
    cpu_by_process: list[float] = field(default_factory=list)
    shared_rate_limit: bool = False


def _shared_state_env(prefix: str) -> dict[str, str]:
    """The shared rate limiter's settings when Redis answers here; else nothing (the runs then
    use the in-process limiter, off, like the rest of the benchmark)."""
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        client.close()
    except Exception:  # noqa: BLE001 - any failure means: no Redis for this run
        return {}
    return {
        "CUSTOMER_CREDIT_REDIS_URL": REDIS_URL,
        "CUSTOMER_CREDIT_REDIS_KEY_PREFIX": prefix,
        "CUSTOMER_CREDIT_RATE_LIMIT_PER_SECOND": NO_LIMIT_REACHED,
        "CUSTOMER_CREDIT_RATE_LIMIT_BURST": NO_LIMIT_REACHED,
    }


def _forget_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _measure(nodes: Nodes, ds: data.Dataset, load: Load, warm: Load | None, database: str, workdir: Path):
    if warm is not None:
        scenarios.reads(nodes, ds, warm, "", workdir)
        scenarios.purchase_cycle(nodes, ds, warm, "", workdir)
    count = len(nodes.servers)
    processes = f"{count} process{'es' if count > 1 else ''}"
    before = [cpu_seconds(server.worker_pids()) for server in nodes.servers]
    reads = scenarios.reads(nodes, ds, load, database, workdir, f"reads, {processes}")
    cycle, _result = scenarios.purchase_cycle(nodes, ds, load, database, workdir)
    cycle.label = f"purchase cycle, {processes}"
    spent = [
        cpu_seconds(server.worker_pids()) - used for server, used in zip(nodes.servers, before, strict=True)
    ]
    return reads, cycle, spent


def run_scale(
    report: Report,
    rows: dict[str, Row],
    url: str,
    ds: data.Dataset,
    workdir: Path,
    *,
    connections: int,
    duration_s: float,
    warmup_s: float,
    database: str,
) -> ScaleOut:
    """Adds the section "Scale-out" to the report and its rows to `rows` (`scale reads 1`,
    `scale reads 2`, `scale cycle 1`, `scale cycle 2`)."""
    prefix = f"cc-bench-{uuid.uuid4().hex[:12]}:"
    env = _shared_state_env(prefix)
    load = Load(connections, duration_s, 1, duration_s)
    warm = Load(connections, warmup_s, 1, warmup_s) if warmup_s > 0 else None
    first = Server(
        url, workers=1, data_dir=workdir / "scale-1", log_path=workdir / "server-scale-1.log", extra_env=env
    )
    second = Server(
        url,
        workers=1,
        data_dir=workdir / "scale-2",
        log_path=workdir / "server-scale-2.log",
        with_worker=False,  # one `customer-credit worker` is enough for both
        extra_env=env,
    )
    try:
        # Started together (an idle process costs the run on one nothing), stopped together.
        with ThreadPoolExecutor(2) as starting:
            list(starting.map(Server.start, (first, second)))
        reads_1, cycle_1, _spent = _measure(Nodes([first]), ds, load, warm, database, workdir)
        reads_2, cycle_2, spent = _measure(Nodes([first, second]), ds, load, warm, database, workdir)
    finally:
        first.stop()
        second.stop()
        if env:
            _forget_keys(prefix)
    outcome = ScaleOut(shared_rate_limit=bool(env), cpu_by_process=spent)
    for name, one, two in (("reads", reads_1, reads_2), ("cycle", cycle_1, cycle_2)):
        two.reference, two.ratio = "1 process", two.throughput / max(one.throughput, 1e-9)
        outcome.ratios[name] = two.ratio
    rows.update(
        {
            "scale reads 1": reads_1,
            "scale reads 2": reads_2,
            "scale cycle 1": cycle_1,
            "scale cycle 2": cycle_2,
        }
    )
    limiter = (
        "the shared rate limiter on (Redis, a limit no run reaches)"
        if env
        else "no Redis reachable here, so no rate limiter"
    )
    cores = report.machine.get("cores", "?")
    section = report.section(
        "Scale-out: 1 and 2 server processes (PostgreSQL)",
        f"The reads and the purchase cycle with {connections} connections, first on one "
        "`customer-credit serve --workers 1`, then on two of them on ports of their own (each its own "
        "connection pool and key cache, as two hosts behind a load balancer; wrk's threads take "
        f"their ports in turn), same database, {limiter}; {duration_s:g} s per run after "
        f"{warmup_s:g} s of warm-up. Ratio = throughput with 2 processes / with 1. Every process, "
        f"PostgreSQL and wrk share this machine's {cores} cores, so the ratio shows that nothing in "
        "a process holds the others back, not what a second host adds. Database: "
        f"{database}.",
    )
    section.rows += [reads_1, reads_2, cycle_1, cycle_2]
    section.extra += [
        "| load | 1 process | 2 processes | ratio |",
        "| --- | ---: | ---: | ---: |",
        f"| reads | {reads_1.throughput:,.0f} req/s | {reads_2.throughput:,.0f} req/s | "
        f"{outcome.ratios['reads']:.2f} |",
        f"| purchase cycle | {cycle_1.throughput:,.1f} cycles/s | {cycle_2.throughput:,.1f} cycles/s | "
        f"{outcome.ratios['cycle']:.2f} |",
        "",
        "CPU each process spent on the two-process runs (warm-up included): "
        + ", ".join(f"{seconds:.1f} s" for seconds in spent)
        + ".",
    ]
    return outcome
