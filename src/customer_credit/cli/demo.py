"""`customer-credit demo`: a realistic credit book, loaded in bulk."""

from typing import TYPE_CHECKING, Annotated

import typer

from customer_credit.cli.database import open_database
from customer_credit.cli.db import db_upgrade
from customer_credit.cli.errors import fail
from customer_credit.settings import get_settings

if TYPE_CHECKING:  # SQLAlchemy is imported when the command runs, not by --help
    from customer_credit.db.engine import Database

DEMO_OPERATOR_EMAIL = "demo@example.com"


def demo(
    accounts: Annotated[int, typer.Option(min=1, help="Accounts to add.")] = 1000,
    invoices: Annotated[int, typer.Option(min=0, help="Invoices to add, spread over the accounts.")] = 10000,
    store: Annotated[str, typer.Option(help="Store to fill; created (and configured) if missing.")] = "demo",
    seed: Annotated[int | None, typer.Option(help="The same seed gives the same data.")] = None,
    processes: Annotated[int | None, typer.Option(min=1, help="Loader processes (PostgreSQL).")] = None,
    verify: Annotated[bool, typer.Option("--check/--no-check", help="Run `check` afterwards.")] = True,
    upgrade_db: Annotated[bool, typer.Option("--upgrade-db/--no-upgrade-db")] = True,
    operator_email: Annotated[
        str, typer.Option(help="Admin operator of the demo store; created (with a new password) if missing.")
    ] = DEMO_OPERATOR_EMAIL,
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
    from customer_credit.errors import DomainError
    from customer_credit.ledger.service import recompute_mismatches
    from customer_credit.stores.service import get_store
    from customer_credit.validation import clean_email

    try:
        operator_email = clean_email("operator-email", operator_email)
    except DomainError as error:
        fail(error)
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
    _demo_operator(database, store, operator_email)
    if verify:
        with database.read() as session:
            mismatches = recompute_mismatches(session, get_store(session, store).id)
        typer.echo(f"check: {len(mismatches)} mismatches")
        database.dispose()
        raise typer.Exit(code=1 if mismatches else 0)
    database.dispose()


def _demo_operator(database: "Database", store_name: str, email: str) -> None:
    # `email`: already checked and normalized (clean_email) before the load.
    """An admin who can sign in to the demo store (the first-run operator belongs to the default
    store): created once with a generated password, shown only now; an existing one is left alone."""
    from customer_credit.stores.service import get_store
    from customer_credit.users import service as users
    from customer_credit.users.models import ADMIN

    settings = get_settings()
    shown = email
    console = f"http://{settings.host}:{settings.port}/admin"
    password = users.generate_password()
    with database.write() as session:
        store = get_store(session, store_name)
        exists = users.find_operator(session, store, shown) is not None
        if not exists:
            users.create_operator(session, store, shown, ADMIN, password)
    if exists:
        typer.echo(
            f"Operator {shown} of store {store_name} exists (its password is unchanged); "
            f"set a new one with: customer-credit users set-password --store {store_name} --email {shown}"
        )
        return
    typer.echo(f"Created the admin operator {shown} of store {store_name}.")
    typer.echo(f"Admin console: {console}  store: {store_name}  e-mail: {shown}  password: {password}")
    typer.echo("The password is shown only now.")
