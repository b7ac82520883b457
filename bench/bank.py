"""The long bank run: the money-safety load of loadgen/bank.py for minutes, with more clients,
against a real server on a PostgreSQL database of its own and on a SQLite file.

    python -m bench.bank [--seconds 180] [--clients 48] [--sqlite-seconds 60] [--sqlite-clients 12]

Prints, per database, the operations run (per type, with the answers they got) and the
violations found; `main()` also returns that text (`make bench` puts it in its report). The exit
status of `python -m bench.bank` is 1 when any violation was found."""

import argparse
import sys
import tempfile
from pathlib import Path

from loadgen.bank import BankConfig, run_bank
from loadgen.server import scratch_postgresql, scratch_sqlite


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.bank", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="PostgreSQL run length")
    parser.add_argument("--clients", type=int, default=48, help="PostgreSQL concurrent clients")
    parser.add_argument("--accounts", type=int, default=10, help="accounts per store (two stores)")
    parser.add_argument("--sqlite-seconds", type=float, default=60.0)
    parser.add_argument("--sqlite-clients", type=int, default=12)
    parser.add_argument("--no-postgresql", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--seed", type=int, default=20240501)
    return parser.parse_args(argv)


def _run(label: str, url: str, workdir: Path, config: BankConfig, lines: list[str]) -> int:
    print(f"bank on {label}: {config.clients} clients for {config.seconds:.0f} s …", flush=True)
    bank = run_bank(url, workdir, config, out=lambda text: None)
    report = bank.report()
    text = bank.summary()
    print(text, flush=True)
    lines += [
        f"### {label}",
        "",
        f"{report['operations']} operations ({report['requests']} requests, "
        f"{report['retries']} retries with the same Idempotency-Key, "
        f"{report['simultaneous_duplicates']} simultaneous duplicates) from "
        f"{report['clients']} clients in {report['seconds']} s on {report['accounts']} accounts; "
        f"{report['server_errors']} 5xx or transport errors; **{report['violations']} violations**.",
        "",
        "```",
        text,
        "```",
        "",
    ]
    return report["violations"]


def main(argv: list[str] | None = None, smoke: bool = False, workdir: Path | None = None) -> str:
    args = _parse(sys.argv[1:] if argv is None else argv)
    if smoke:
        args.seconds, args.sqlite_seconds, args.clients, args.sqlite_clients = 5, 3, 8, 4
    workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="cc-bank-"))
    workdir.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    violations = 0
    if not args.no_postgresql:
        config = BankConfig(
            seconds=args.seconds, clients=args.clients, accounts_per_store=args.accounts, seed=args.seed
        )
        with scratch_postgresql("cc_bank") as url:
            violations += _run("PostgreSQL", url, workdir / "postgresql", config, lines)
    if not args.no_sqlite:
        config = BankConfig(
            seconds=args.sqlite_seconds,
            clients=args.sqlite_clients,
            accounts_per_store=args.accounts,
            seed=args.seed + 1,
        )
        url = scratch_sqlite(workdir / "sqlite")
        violations += _run("SQLite", url, workdir / "sqlite", config, lines)
    lines.append(f"Bank runs: {violations} violations in total.")
    print(lines[-1], flush=True)
    main.violations = violations
    return "\n".join(lines)


if __name__ == "__main__":
    main()
    sys.exit(1 if main.violations else 0)
