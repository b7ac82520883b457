"""The `customer-credit` command."""

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from customer_credit.settings import get_settings

app = typer.Typer(help="Customer Credit: a self-hosted credit service speaking the VTEX API.",
                  no_args_is_help=True)
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
) -> None:
    """Run the background jobs (expired holds, …)."""
    from customer_credit import logs
    from customer_credit.jobs.worker import Worker

    settings = get_settings()
    logs.configure(settings.log_level)
    runner = Worker(_database(), interval_s=settings.worker_interval_s)
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
                typer.echo(f"{key.app_key}\t{names[key.store_id]}\t{state}\t{', '.join(key.resources)}\t{key.label}")
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
                settings.resolved_secret_key(), get_store(session, store), email, resource,
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
            f"stored {mismatch.stored} cents, ledger gives {mismatch.recomputed} cents"
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
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(json.dumps(credentials, indent=2))
        key_file.chmod(0o600)
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
        f"    -d '{{\"document\": \"55555555555\", \"documentType\": \"CPF\", "
        f"\"email\": \"customer@example.com\", \"creditLimit\": \"3000\", \"tolerance\": \"0.05\"}}'"
    )
    typer.echo(f"Interactive docs: {base}/docs")


def main() -> None:
    app()
