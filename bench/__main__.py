"""`python -m bench` (what `make bench` runs): every scenario, then bench/results/latest.md."""

import argparse
import sys
import tempfile
from pathlib import Path

from bench.run import Options, run


def parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    defaults = Options()
    parser.add_argument("--smoke", action="store_true", help="seconds and tiny data (what `make test` runs)")
    parser.add_argument("--accounts", type=int, default=defaults.accounts)
    parser.add_argument("--invoices", type=int, default=defaults.invoices)
    parser.add_argument("--sqlite-accounts", type=int, default=defaults.sqlite_accounts)
    parser.add_argument("--sqlite-invoices", type=int, default=defaults.sqlite_invoices)
    parser.add_argument("--duration", type=float, default=defaults.duration_s, help="seconds per run")
    parser.add_argument("--search-duration", type=float, default=defaults.search_duration_s)
    parser.add_argument("--connections", type=int, default=defaults.connections)
    parser.add_argument("--workers", type=int, default=defaults.workers, help="uvicorn worker processes")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--no-plans", action="store_true", help="skip EXPLAIN ANALYZE of the searches")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-growth", action="store_true")
    parser.add_argument("--no-bank", action="store_true", help="skip the long bank run (bench/bank.py)")
    parser.add_argument("--no-scale", action="store_true", help="skip the 1 vs 2 server processes runs")
    parser.add_argument("--scale-duration", type=float, default=defaults.scale_duration_s)
    parser.add_argument("--bank-arg", action="append", default=[], help="passed to bench/bank.py")
    parser.add_argument("--no-console", action="store_true", help="skip the console pages")
    parser.add_argument("--only", choices=["console"], help="run one scenario alone (and report it)")
    parser.add_argument("--console-accounts", type=int, default=defaults.console_accounts)
    parser.add_argument("--console-invoices", type=int, default=defaults.console_invoices)
    parser.add_argument("--console-requests", type=int, default=defaults.console_requests)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL databases afterwards")
    parser.add_argument("--out", type=Path, default=defaults.out)
    args = parser.parse_args(argv)
    # A partial run writes its own report beside the full one, never over it.
    out = args.out if args.out != defaults.out or not args.only else defaults.out.with_name(f"{args.only}.md")
    if args.smoke:
        workdir = Path(tempfile.mkdtemp(prefix="cc-bench-smoke-"))
        out = args.out if args.out != defaults.out else workdir / "latest.md"
        options = Options.smoke(workdir, out)
        options.only = args.only
        return options
    return Options(
        accounts=args.accounts,
        invoices=args.invoices,
        sqlite_accounts=args.sqlite_accounts,
        sqlite_invoices=args.sqlite_invoices,
        duration_s=args.duration,
        search_duration_s=args.search_duration,
        connections=args.connections,
        workers=args.workers,
        profile=not args.no_profile,
        plans=not args.no_plans,
        sqlite=not args.no_sqlite,
        growth=not args.no_growth,
        bank=not args.no_bank,
        scale=not args.no_scale,
        scale_duration_s=args.scale_duration,
        bank_args=args.bank_arg,
        console=not args.no_console,
        console_accounts=args.console_accounts,
        console_invoices=args.console_invoices,
        console_requests=args.console_requests,
        only=args.only,
        keep=args.keep,
        out=out,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse(sys.argv[1:] if argv is None else argv)
    outcome = run(options)
    print(options.out.read_text())
    failed = [target for target in outcome.report.targets if target.met is False]
    print(f"report: {options.out}; {len(failed)} of {len(outcome.report.targets)} targets not met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
