"""What a scenario measured, in the shape of the report's tables."""

from dataclasses import dataclass, field

from bench.wrk import LoadResult


@dataclass
class Row:
    scenario: str
    label: str
    database: str
    connections: int
    duration_s: float
    requests: int
    throughput: float
    unit: str
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    reference: str = ""
    ratio: float | None = None
    generator_cores: float | None = None
    # CPU time per request (per cycle for pgbench), from /proc: the server's workers and the
    # database's backends. Unlike throughput, these hardly move when the machine is busy.
    server_cpu_ms: float | None = None
    database_cpu_ms: float | None = None
    # PostgreSQL client connections opened during the run's last 10 s (the pool's churn).
    new_connections_10s: int | None = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_load(
        cls,
        scenario: str,
        label: str,
        database: str,
        load: LoadResult,
        *,
        unit: str = "req/s",
        per: float = 1.0,
    ) -> "Row":
        return cls(
            scenario=scenario,
            label=label,
            database=database,
            connections=load.connections,
            duration_s=load.duration_s,
            requests=load.requests,
            throughput=load.rate / per,
            unit=unit,
            p50_ms=load.p50_ms,
            p95_ms=load.p95_ms,
            p99_ms=load.p99_ms,
            errors=load.errors,
            generator_cores=load.cores_used,
        )


@dataclass
class Target:
    """One line of the issue's target table and whether this run met it."""

    scenario: str
    target: str
    measured: str
    met: bool | None


@dataclass
class Section:
    title: str
    intro: str
    rows: list[Row] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
