"""The `customer-credit` command."""

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from customer_credit.private_files import write_private_text
from customer_credit.settings import get_settings

app = typer.Typer(
    help="Customer Credit: a self-hosted credit service speaking the VTEX API.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
stores_app = typer.Typer(help="Stores (tenants).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys (app key + app token).", no_args_is_help=True)
tokens_app = typer.Typer(help="User tokens (VtexIdclientAutCookie).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(stores_app, name="stores")
app.add_typer(keys_app, name="keys")
app.add_typer(tokens_app, name="tokens")

FIRST_KEY_FILE = "first-run-key.json"


def _database():
    from customer_credit.db.engine import Database

    return Database(get_settings())


def _fail(error: Exception) -> None:
    typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to the configured database."""
    from customer_credit.db.migrate import upgrade

    upgrade(get_settings().database_url)
    typer.echo("database is at the latest schema")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Defaults to CUSTOMER_CREDIT_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Defaults to CUSTOMER_CREDIT_PORT.")] = None,
    workers: Annotated[int | None, typer.Option(help="Server processes.")] = None,
    upgrade_db: Annotated[bool, typer.Option("--upgrade-db/--no-upgrade-db")] = True,
) -> None:
    """Serve the HTTP API (uvicorn)."""
    import uvicorn

    from customer_credit import logs

    settings = get_settings()
    logs.configure(settings.log_level)
    # Server worker processes build the app themselves; this tells create_app to set up the
    # same JSON logging in each of them.
    os.environ[logs.CONFIGURE_IN_APP_ENV] = "true"
    if upgrade_db:
        db_upgrade()
    uvicorn.run(
        "customer_credit.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="Run every job once and exit.")] = False,
    now: Annotated[
        str | None,
        typer.Option(
            help="Pretend the time is this ISO instant (e.g. 2026-12-01T10:00:00Z) and run on "
            "from there; CUSTOMER_CREDIT_CLOCK_OFFSET_DAYS moves the clock by whole days instead."
        ),
    ] = None,
) -> None:
    """Run the background jobs (expired holds, overdue invoices, webhooks, reminders)."""
    from customer_credit import logs
    from customer_credit.jobs.worker import Worker

    settings = get_settings()
    logs.configure(settings.log_level)
    runner = Worker(_database(), interval_s=settings.worker_interval_s)
    from customer_credit.jobs.registry import shifted_clock

    start_at = None
    if now is not None:
        from customer_credit.dates import parse_datetime
        from customer_credit.errors import DomainError

        try:
            start_at = parse_datetime("--now", now)
        except DomainError as error:
            _fail(error)
    runner.clock = shifted_clock(offset_days=settings.clock_offset_days, start_at=start_at)
    if once:
        typer.echo(json.dumps(runner.run_once()))
        return
    try:
        runner.run_forever()
    except KeyboardInterrupt:
        runner.stop()


@stores_app.command("create")
def stores_create(name: str) -> None:
    """Create a store."""
    from customer_credit.errors import DomainError
    from customer_credit.stores.service import create_store

    try:
        with _database().write() as session:
            store = create_store(session, name)
    except DomainError as error:
        _fail(error)
    typer.echo(f"store {store.name} created")


@keys_app.command("create")
def keys_create(
    store: Annotated[str, typer.Option(help="Store name.")],
    resource: Annotated[list[str], typer.Option(help="A resource, e.g. 'Main Access'; repeatable.")],
    label: Annotated[str, typer.Option(help="A note for humans.")] = "",
) -> None:
    """Create an API key; the token is printed once and stored only as a hash."""
    from customer_credit.auth.service import create_key
    from customer_credit.errors import DomainError
    from customer_credit.stores.service import get_store

    try:
        with _database().write() as session:
            issued = create_key(session, get_store(session, store), resource, label)
    except DomainError as error:
        _fail(error)
    typer.echo(f"X-VTEX-API-AppKey: {issued.app_key}")
    typer.echo(f"X-VTEX-API-AppToken: {issued.app_token}")
    typer.echo("The token is shown only now; store it safely.")


@keys_app.command("list")
def keys_list(store: Annotated[str | None, typer.Option()] = None) -> None:
    """List API keys (never their tokens)."""
    from customer_credit.auth.service import list_keys
    from customer_credit.errors import DomainError
    from customer_credit.stores.models import Store
    from customer_credit.stores.service import get_store

    try:
        with _database().read() as session:
            found = list_keys(session, get_store(session, store) if store else None)
            names = {row.id: row.name for row in session.query(Store)}
            for key in found:
                state = "revoked" if key.revoked_at else "active"
                typer.echo(
                    f"{key.app_key}\t{names[key.store_id]}\t{state}\t{', '.join(key.resources)}\t{key.label}"
                )
    except DomainError as error:
        _fail(error)


@keys_app.command("revoke")
def keys_revoke(app_key: str) -> None:
    """Revoke an API key at once."""
    from customer_credit.auth.service import revoke_key
    from customer_credit.errors import DomainError

    try:
        with _database().write() as session:
            revoke_key(session, app_key)
    except DomainError as error:
        _fail(error)
    typer.echo(f"{app_key} revoked")


@tokens_app.command("issue")
def tokens_issue(
    store: Annotated[str, typer.Option()],
    email: Annotated[str, typer.Option()],
    resource: Annotated[list[str], typer.Option()] = ["Main Access"],  # noqa: B006
    ttl_minutes: Annotated[int, typer.Option(min=1, max=60 * 24 * 30)] = 60,
) -> None:
    """Issue a signed user token (send it as the VtexIdclientAutCookie header or cookie)."""
    from customer_credit.auth.service import issue_user_token
    from customer_credit.errors import DomainError
    from customer_credit.stores.service import get_store

    settings = get_settings()
    try:
        with _database().read() as session:
            token = issue_user_token(
                settings.resolved_secret_key(),
                get_store(session, store),
                email,
                resource,
                timedelta(minutes=ttl_minutes),
            )
    except DomainError as error:
        _fail(error)
    typer.echo(token)


@app.command()
def check(store: Annotated[str | None, typer.Option()] = None) -> None:
    """Recompute every account's figures from its ledger and report mismatches."""
    from customer_credit.ledger.service import recompute_mismatches
    from customer_credit.stores.service import get_store

    with _database().read() as session:
        store_id = get_store(session, store).id if store else None
        mismatches = recompute_mismatches(session, store_id)
    for mismatch in mismatches:
        typer.echo(
            f"{mismatch.public_id} (#{mismatch.account_id}) {mismatch.field}: "
            f"stored {mismatch.stored} {mismatch.unit}, ledger gives {mismatch.recomputed} {mismatch.unit}"
        )
    typer.echo(f"{len(mismatches)} mismatches")
    raise typer.Exit(code=1 if mismatches else 0)


@app.command("first-run")
def first_run() -> None:
    """Prepare the embedded database: schema, a default store and a Main Access key (once)."""
    from customer_credit.auth.resources import MAIN_ACCESS
    from customer_credit.auth.service import create_key
    from customer_credit.db.migrate import upgrade
    from customer_credit.stores.service import DEFAULT_STORE_NAME, get_or_create_store

    settings = get_settings()
    upgrade(settings.database_url)
    key_file = Path(settings.data_dir) / FIRST_KEY_FILE
    if key_file.exists():
        credentials = json.loads(key_file.read_text())
        note = f"Reusing the first key, kept in {key_file}."
    else:
        with _database().write() as session:
            store = get_or_create_store(session, DEFAULT_STORE_NAME)
            issued = create_key(session, store, [MAIN_ACCESS], "first run")
        credentials = {"appKey": issued.app_key, "appToken": issued.app_token, "store": DEFAULT_STORE_NAME}
        write_private_text(key_file, json.dumps(credentials, indent=2))
        note = f"Created store '{DEFAULT_STORE_NAME}' and a Main Access key, kept in {key_file}."
    base = f"http://{settings.host}:{settings.port}"
    typer.echo(note)
    typer.echo("Make another key with: customer-credit keys create --store default --resource 'Main Access'")
    typer.echo("Try the API:")
    typer.echo(
        f"  curl -s -X POST {base}/api/creditcontrol/accounts \\\n"
        f"    -H 'X-VTEX-API-AppKey: {credentials['appKey']}' \\\n"
        f"    -H 'X-VTEX-API-AppToken: {credentials['appToken']}' \\\n"
        f"    -H 'Content-Type: application/json' \\\n"
        f'    -d \'{{"document": "55555555555", "documentType": "CPF", '
        f'"email": "customer@example.com", "creditLimit": "3000", "tolerance": "0.05"}}\''
    )
    typer.echo(f"Interactive docs: {base}/docs")
    _first_operator(settings, base)


def main() -> None:
    app()


@app.command()
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
    database = _database()
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


# --- Console operators and My Credits links ------------------------------------------------

users_app = typer.Typer(help="Operators of the admin console (/admin).", no_args_is_help=True)
links_app = typer.Typer(help='"My Credits" links for customers (/my-credits).', no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(links_app, name="links")

FIRST_OPERATOR_FILE = "first-run-operator.json"
FIRST_OPERATOR_EMAIL = "admin@example.com"


def _first_operator(settings, base: str) -> None:
    """Creates the default store's first admin once and keeps its password beside the first key."""
    from customer_credit.stores.service import DEFAULT_STORE_NAME, get_or_create_store
    from customer_credit.users import service as users
    from customer_credit.users.models import ADMIN

    operator_file = Path(settings.data_dir) / FIRST_OPERATOR_FILE
    if operator_file.exists():
        login = json.loads(operator_file.read_text())
        note = f"Reusing the first operator, kept in {operator_file}."
    else:
        password = users.generate_password()
        with _database().write() as session:
            store = get_or_create_store(session, DEFAULT_STORE_NAME)
            if users.find_operator(session, store, FIRST_OPERATOR_EMAIL) is not None:
                typer.echo(
                    f"Operator {FIRST_OPERATOR_EMAIL} exists but {operator_file} is gone; set a new password with: "
                    f"customer-credit users set-password --store {DEFAULT_STORE_NAME} --email {FIRST_OPERATOR_EMAIL}"
                )
                return
            users.create_operator(session, store, FIRST_OPERATOR_EMAIL, ADMIN, password)
        login = {"email": FIRST_OPERATOR_EMAIL, "password": password, "store": DEFAULT_STORE_NAME}
        write_private_text(operator_file, json.dumps(login, indent=2))
        note = f"Created the admin operator {FIRST_OPERATOR_EMAIL}, kept in {operator_file}."
    typer.echo(note)
    typer.echo(f"Admin console: {base}/admin  e-mail: {login['email']}  password: {login['password']}")


def _password_or_new(password: str | None) -> tuple[str, bool]:
    """The given password, one typed at the prompt, or a generated one (empty prompt, or no
    terminal). Returns (password, generated)."""
    import sys

    from customer_credit.users import service as users

    if password:
        return password, False
    if sys.stdin.isatty():
        typed = typer.prompt(
            "Password (empty: generate one)",
            default="",
            hide_input=True,
            confirmation_prompt=True,
            show_default=False,
        )
        if typed:
            return typed, False
    return users.generate_password(), True


@users_app.command("create")
def users_create(
    store: Annotated[str, typer.Option(help="Store name.")],
    email: Annotated[str, typer.Option(help="The operator's e-mail (their sign-in name).")],
    role: Annotated[str, typer.Option(help="admin (reads and changes) or viewer (reads only).")] = "admin",
    password: Annotated[
        str | None, typer.Option(help="At least 12 characters; prompted or generated if absent.")
    ] = None,
) -> None:
    """Create a console operator; a generated password is printed once."""
    from customer_credit.errors import DomainError
    from customer_credit.stores.service import get_store
    from customer_credit.users import service as users

    chosen, generated = _password_or_new(password)
    try:
        with _database().write() as session:
            operator = users.create_operator(session, get_store(session, store), email, role, chosen)
            shown = operator.email
    except DomainError as error:
        _fail(error)
    typer.echo(f"operator {shown} ({role}) created in store {store}")
    if generated:
        typer.echo(f"password: {chosen}")
        typer.echo("The password is shown only now.")


@users_app.command("set-password")
def users_set_password(
    store: Annotated[str, typer.Option()],
    email: Annotated[str, typer.Option()],
    password: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Set a new password (ends the operator's sessions)."""
    from customer_credit.errors import DomainError
    from customer_credit.stores.service import get_store
    from customer_credit.users import service as users

    chosen, generated = _password_or_new(password)
    try:
        with _database().write() as session:
            users.set_password(session, get_store(session, store), email, chosen)
    except DomainError as error:
        _fail(error)
    typer.echo(f"password of {email.strip().lower()} changed")
    if generated:
        typer.echo(f"password: {chosen}")


@users_app.command("disable")
def users_disable(
    store: Annotated[str, typer.Option()],
    email: Annotated[str, typer.Option()],
    enable: Annotated[bool, typer.Option("--enable", help="Enable again instead.")] = False,
) -> None:
    """Disable an operator at once (their sessions end), or enable them again."""
    from customer_credit.errors import DomainError
    from customer_credit.stores.service import get_store
    from customer_credit.users import service as users

    try:
        with _database().write() as session:
            users.set_disabled(session, get_store(session, store), email, not enable)
    except DomainError as error:
        _fail(error)
    typer.echo(f"{email.strip().lower()} {'enabled' if enable else 'disabled'}")


@users_app.command("list")
def users_list(store: Annotated[str | None, typer.Option()] = None) -> None:
    """List operators (never their passwords)."""
    from customer_credit.errors import DomainError
    from customer_credit.stores.models import Store
    from customer_credit.stores.service import get_store
    from customer_credit.users import service as users

    try:
        with _database().read() as session:
            names = {row.id: row.name for row in session.query(Store)}
            for operator in users.list_operators(session, get_store(session, store) if store else None):
                state = "disabled" if operator.disabled_at else "active"
                typer.echo(f"{operator.email}\t{names[operator.store_id]}\t{operator.role}\t{state}")
    except DomainError as error:
        _fail(error)


def _cli_principal(session, store: str):
    """The CLI acts for a store with every resource, under the name "cli" (links' created_by)."""
    from customer_credit.auth.principal import Principal
    from customer_credit.auth.resources import MAIN_ACCESS
    from customer_credit.stores.service import get_store

    return Principal(store_id=get_store(session, store).id, name="cli", resources=frozenset({MAIN_ACCESS}))


@links_app.command("create")
def links_create(
    store: Annotated[str, typer.Option(help="Store name.")],
    account: Annotated[str, typer.Option(help="The account id the link opens.")],
    email: Annotated[str, typer.Option(help="The account owner's or a holder's e-mail.")],
    ttl_minutes: Annotated[
        int | None,
        typer.Option(min=1, max=60 * 24 * 7, help="How long the link works (default: the setting)."),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Defaults to http://HOST:PORT of the settings.")
    ] = None,
) -> None:
    """Print a new My Credits link (shown only now; only its hash is stored)."""
    from customer_credit.errors import DomainError
    from customer_credit.my_credits import links

    settings = get_settings()
    ttl = timedelta(minutes=ttl_minutes) if ttl_minutes else links.default_ttl(settings)
    try:
        with _database().write() as session:
            issued = links.issue_link(session, _cli_principal(session, store), account, email, ttl)
            link_id, expires_at = issued.link.public_id, issued.expires_at
    except DomainError as error:
        _fail(error)
    typer.echo(issued.url(base_url or f"http://{settings.host}:{settings.port}"))
    typer.echo(f"link {link_id}, valid until {expires_at.isoformat()}", err=True)


@links_app.command("list")
def links_list(
    store: Annotated[str, typer.Option(help="Store name.")],
    account: Annotated[str, typer.Option(help="Account id.")],
) -> None:
    """List an account's links, newest first (never their tokens)."""
    from customer_credit.errors import DomainError
    from customer_credit.my_credits import links

    try:
        with _database().read() as session:
            for link in links.list_links(session, _cli_principal(session, store), account):
                typer.echo(
                    f"{link.public_id}\t{link.email}\t{links.status_of(link)}\t"
                    f"expires {link.expires_at.isoformat()}\tby {link.created_by}"
                )
    except DomainError as error:
        _fail(error)


@links_app.command("revoke")
def links_revoke(
    link_id: str,
    store: Annotated[str, typer.Option(help="Store name.")],
    account: Annotated[str, typer.Option(help="Account id.")],
) -> None:
    """Revoke a link at once: the customer's page stops opening with it."""
    from customer_credit.errors import DomainError
    from customer_credit.my_credits import links

    try:
        with _database().write() as session:
            links.revoke_link(session, _cli_principal(session, store), account, link_id)
    except DomainError as error:
        _fail(error)
    typer.echo(f"{link_id} revoked")


# --- Reminders and webhooks -------------------------------------------------------------

reminders_app = typer.Typer(help="Due-date reminders by e-mail.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhook endpoints (signed event deliveries).", no_args_is_help=True)
app.add_typer(reminders_app, name="reminders")
app.add_typer(webhooks_app, name="webhooks")


@reminders_app.command("preview")
def reminders_preview(
    date: Annotated[str, typer.Option("--date", help="The day, YYYY-MM-DD (in each store's time zone).")],
    store: Annotated[str | None, typer.Option(help="Only this store.")] = None,
) -> None:
    """List the reminders that would be sent on a day, from the invoices as they are now."""
    from datetime import date as Date

    from customer_credit.money import from_cents
    from customer_credit.reminders.preview import preview

    try:
        day = Date.fromisoformat(date)
    except ValueError:
        _fail(ValueError("--date must be YYYY-MM-DD"))
    with _database().read() as session:
        items = preview(session, day, store_name=store)
    for item in items:
        local = item.send_at.astimezone(_zone(item.timezone))
        typer.echo(
            f"{local:%Y-%m-%d %H:%M} {item.timezone}\t{item.store}\t{item.friendly_id}\t{item.invoice_id}\t"
            f"{item.trigger}\t{from_cents(item.amount_due_cents)} {item.currency}\t"
            f"{', '.join(item.recipients)}\t{item.status}"
        )
    typer.echo(f"{len(items)} reminders on {day.isoformat()}")


def _zone(name: str):
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return ZoneInfo("UTC")


@reminders_app.command("log")
def reminders_log(
    store: Annotated[str, typer.Option(help="Store name.")],
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """The latest reminders of a store: status, attempts, recipients, last error."""
    from customer_credit.errors import DomainError
    from customer_credit.reminders.service import reminder_log
    from customer_credit.stores.service import get_store

    try:
        with _database().read() as session:
            for reminder, invoice_id in reminder_log(session, get_store(session, store).id, limit=limit):
                typer.echo(
                    f"{reminder.scheduled_at:%Y-%m-%dT%H:%M}Z\t{invoice_id}\t{reminder.kind} {reminder.days}\t"
                    f"{reminder.status}\tattempts={reminder.attempts}\t{', '.join(reminder.recipients or [])}\t"
                    f"{reminder.last_error or ''}"
                )
    except DomainError as error:
        _fail(error)


@webhooks_app.command("create")
def webhooks_create(
    store: Annotated[str, typer.Option(help="Store name.")],
    url: Annotated[str, typer.Option(help="The receiver's http(s) URL.")],
    event: Annotated[
        list[str] | None, typer.Option(help="An event type to send (repeatable); default: all.")
    ] = None,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Register an endpoint; its signing secret is printed once."""
    from customer_credit.errors import DomainError
    from customer_credit.events.destinations import allow_list
    from customer_credit.events.webhooks import check_url, create_endpoint
    from customer_credit.stores.service import get_store

    try:
        checked = check_url(url, allow_list(get_settings()))  # a DNS lookup: before the transaction
        with _database().write() as session:
            endpoint = create_endpoint(
                session, get_store(session, store).id, url=checked, event_types=event, description=description
            )
            public_id, secret = endpoint.public_id, endpoint.secret
    except DomainError as error:
        _fail(error)
    typer.echo(f"endpoint: {public_id}")
    typer.echo(f"secret: {secret}")
    typer.echo("Verify each delivery's webhook-signature with this secret (see docs/events.md).")


@webhooks_app.command("list")
def webhooks_list(store: Annotated[str, typer.Option(help="Store name.")]) -> None:
    """List a store's endpoints with their delivery counts (never their secrets)."""
    from customer_credit.errors import DomainError
    from customer_credit.events.webhooks import delivery_counts, list_endpoints
    from customer_credit.stores.service import get_store

    try:
        with _database().read() as session:
            for endpoint in list_endpoints(session, get_store(session, store).id):
                counts = delivery_counts(session, endpoint)
                summary = ", ".join(f"{name} {count}" for name, count in sorted(counts.items())) or "none yet"
                types = ", ".join(endpoint.event_types or []) or "all events"
                typer.echo(f"{endpoint.public_id}\t{endpoint.url}\t{types}\tdeliveries: {summary}")
    except DomainError as error:
        _fail(error)


@webhooks_app.command("delete")
def webhooks_delete(endpoint_id: str, store: Annotated[str, typer.Option(help="Store name.")]) -> None:
    """Delete an endpoint: its pending deliveries are cancelled; the log stays."""
    from customer_credit.errors import DomainError
    from customer_credit.events.webhooks import delete_endpoint
    from customer_credit.stores.service import get_store

    try:
        with _database().write() as session:
            delete_endpoint(session, get_store(session, store).id, endpoint_id)
    except DomainError as error:
        _fail(error)
    typer.echo(f"{endpoint_id} deleted")


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    endpoint_id: str,
    store: Annotated[str, typer.Option(help="Store name.")],
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """An endpoint's delivery log, newest first."""
    from customer_credit.errors import DomainError
    from customer_credit.events.webhooks import deliveries, get_endpoint
    from customer_credit.stores.service import get_store

    try:
        with _database().read() as session:
            endpoint = get_endpoint(session, get_store(session, store).id, endpoint_id)
            for delivery, event_id, event_type in deliveries(session, endpoint, status=None, limit=limit):
                typer.echo(
                    f"{event_id}\t{event_type}\t{delivery.status}\tattempts={delivery.attempts}\t"
                    f"last={delivery.last_status_code or '-'}\t{delivery.last_error or ''}"
                )
    except DomainError as error:
        _fail(error)
