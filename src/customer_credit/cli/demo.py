"""`customer-credit demo`: a realistic credit book, loaded in bulk."""

from typing import Annotated

import typer

from customer_credit.cli.database import open_database
from customer_credit.cli.db import db_upgrade


def demo(
    accounts: Annotated[int, typer.Option(min=1, help="Accounts to add.")] = 1000,
    invoices: Annotated[int, typer.Option(min=0, help="Invoices to add, spread over the accounts.")] = 10000,
    store: Annotated[str, typer.Option(help="Store to fill; created (and configured) if missing.")] = "demo",
    seed: Annotated[int | None, typer.Option(help="The same seed gives the same data.")] = None,
    processes: Annotated[int | None, typer.Option(min=1, help="Loader processes (PostgreSQL).")] = None,
    verify: Annotated[bool, typer.Option("--check/--no-check", help="Run `check` afterwards.")] = True,
    upgrade_db: Annotated[bool, typer.Option("--upgrade-db/--no-upgrade-db")] = True,
) -> None:
    """Fill the database with a realistic credit book through the bulk path (COPY on
    PostgreSQL): accounts with holders, purchases in 1–12 installments, Opened / Paid /
    Cancelled / overdue / postponed invoices, live holds, and the ledger of all of it."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from customer_credit.demo.service import load_demo
    from customer_credit.ledger.service import recompute_mismatches
    from customer_credit.stores.service import get_store

    if upgrade_db:
        db_upgrade()
    database = open_database()
    unit, total = ("invoices", invoices) if invoices else ("accounts", accounts)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task(f"loading {unit}", total=total, rate="")

        def advance(accounts_done: int, invoices_done: int) -> None:
            done = invoices_done if invoices else accounts_done
            speed = bar.tasks[0].speed
            bar.update(task, completed=done, rate=f"{speed:,.0f} {unit}/s" if speed else "")

        report = load_demo(
            database,
            store_name=store,
            accounts=accounts,
            invoices=invoices,
            seed=seed,
            progress=advance,
            processes=processes,
        )
    statuses = ", ".join(f"{name} {count:,}" for name, count in sorted(report.invoice_status.items()))
    typer.echo(
        f"store {report.store}: {report.accounts:,} accounts, {report.holders:,} holders, "
        f"{report.transactions:,} transactions ({report.live_holds:,} live holds), "
        f"{report.invoices:,} invoices ({statuses}; {report.overdue:,} overdue, "
        f"{report.postponed:,} postponed, {report.partly_paid:,} partly paid), "
        f"{report.statements:,} ledger entries in {report.seconds:.1f} s "
        f"(statistics {report.statistics_seconds:.1f} s) "
        f"({report.rows() / max(report.seconds, 1e-9):,.0f} rows/s) on {database.read_engine.dialect.name}"
    )
    if verify:
        with database.read() as session:
            mismatches = recompute_mismatches(session, get_store(session, store).id)
        typer.echo(f"check: {len(mismatches)} mismatches")
        database.dispose()
        raise typer.Exit(code=1 if mismatches else 0)
    database.dispose()
