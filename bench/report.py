"""bench/results/latest.md: a table per scenario, the targets, the machine and the database."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench.profiling import Profile
from bench.results import Row, Section, Target


@dataclass
class LoadInfo:
    database: str
    accounts: int
    invoices: int
    rows: int
    seconds: float
    mismatches_after_load: int
    statistics_seconds: float = 0.0


@dataclass
class Report:
    machine: dict[str, str]
    setup: dict[str, str] = field(default_factory=dict)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    loads: list[LoadInfo] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    checks: list[tuple[str, int]] = field(default_factory=list)
    memory: list[tuple[str, str]] = field(default_factory=list)
    profiles: list[Profile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    appendix: list[str] = field(default_factory=list)

    def section(self, title: str, intro: str) -> Section:
        found = Section(title, intro)
        self.sections.append(found)
        return found


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _cpu(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} ms"


def _cores(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} cores"


def _met(value: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "—"}[value]


def rows_table(rows: list[Row]) -> list[str]:
    lines = [
        "| run | database | conns | requests | throughput | p50 ms | p95 ms | p99 ms | errors "
        "| ratio to reference | server CPU / request | database CPU / request | load generator CPU "
        "| new PostgreSQL connections, last 10 s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        reference = f"{_ratio(row.ratio)} ({row.reference})" if row.ratio is not None else "—"
        lines.append(
            f"| {row.label} | {row.database} | {row.connections} | {row.requests:,} | "
            f"{_rate(row.throughput)} {row.unit} | {_ms(row.p50_ms)} | {_ms(row.p95_ms)} | "
            f"{_ms(row.p99_ms)} | {row.errors:,} | {reference} | {_cpu(row.server_cpu_ms)} | "
            f"{_cpu(row.database_cpu_ms)} | {_cores(row.generator_cores)} | "
            f"{'—' if row.new_connections_10s is None else row.new_connections_10s} |"
        )
    notes = [f"- {row.label}: {note}" for row in rows for note in row.notes]
    return lines + ([""] + notes if notes else [])


def render(report: Report) -> str:
    machine = report.machine
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`python -m bench`) on {report.started:%Y-%m-%d %H:%M} UTC at commit "
        f"`{machine['commit']}`. Every number on this page comes from that one run; ratios compare "
        "with a reference measured in the same run. How to read them, the profiles and what was "
        "changed because of them: [docs/performance.md](../../docs/performance.md).",
        "",
        "## Machine and setup",
        "",
        "| | |",
        "| --- | --- |",
        f"| machine | {machine['cores']} cores, {machine['memory']} memory, {machine['cpu']} |",
        f"| system | {machine['os']}, Python {machine['python']} |",
        f"| load average (1/5/15 min) | before the run {'/'.join(f'{v:.2f}' for v in report.load_before)}; "
        f"after it {'/'.join(f'{v:.2f}' for v in report.load_after)} (the benchmark's own processes) |",
    ]
    for name, value in report.setup.items():
        lines.append(f"| {name} | {value} |")
    lines += ["", *[f"- {note}" for note in report.notes]] if report.notes else []
    if report.targets:
        lines += [
            "",
            "## Targets",
            "",
            "| scenario | target | measured | met |",
            "| --- | --- | --- | --- |",
        ]
        lines += [f"| {t.scenario} | {t.target} | {t.measured} | {_met(t.met)} |" for t in report.targets]
    if report.loads:
        lines += [
            "",
            "## Demo data (`customer-credit demo`'s loader)",
            "",
            "| database | accounts | invoices | rows written | seconds | of which VACUUM ANALYZE | rows/s "
            "| `check` after the load |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for load in report.loads:
            lines.append(
                f"| {load.database} | {load.accounts:,} | {load.invoices:,} | {load.rows:,} | "
                f"{load.seconds:.1f} | {load.statistics_seconds:.1f} | "
                f"{load.rows / max(load.seconds, 1e-9):,.0f} | "
                f"{load.mismatches_after_load} mismatches |"
            )
    for section in report.sections:
        lines += ["", f"## {section.title}", "", section.intro, ""]
        if section.rows:
            lines += rows_table(section.rows)
        if section.extra:
            lines += ["", *section.extra]
    if report.memory:
        lines += [
            "",
            "## Memory (resident set of each server worker)",
            "",
            "| when | RSS per worker |",
            "| --- | --- |",
        ]
        lines += [f"| {when} | {value} |" for when, value in report.memory]
    if report.profiles:
        lines += ["", "## Profiles (py-spy, server workers, separate runs from the measured ones)"]
        for profile in report.profiles:
            lines += [
                "",
                f"### {profile.title} ({profile.samples:,} samples)",
                "",
                "| layer (leaf frame) | share of CPU samples |",
                "| --- | ---: |",
            ]
            lines += [f"| {name} | {share:.0%} |" for name, share in profile.top(profile.layers, 10)]
            lines += ["", "| function, self time | share |", "| --- | ---: |"]
            lines += [f"| `{name}` | {share:.1%} |" for name, share in profile.top(profile.self_time, 10)]
            lines += ["", "| service or SQLAlchemy function, inclusive | share |", "| --- | ---: |"]
            lines += [f"| `{name}` | {share:.0%} |" for name, share in profile.top(profile.inclusive, 12)]
    if report.checks:
        lines += [
            "",
            "## Ledger checks (`customer-credit check`)",
            "",
            "| when | mismatches |",
            "| --- | ---: |",
        ]
        lines += [f"| {when} | {count} |" for when, count in report.checks]
    if report.appendix:
        lines += ["", *report.appendix]
    return "\n".join(lines) + "\n"
