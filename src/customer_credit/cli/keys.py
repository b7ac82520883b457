"""`customer-credit keys`: API keys (app key + app token)."""

from typing import Annotated

import typer

from customer_credit.cli.database import open_database
from customer_credit.cli.errors import fail

app = typer.Typer(help="API keys (app key + app token).", no_args_is_help=True)


@app.command("create")
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
        with open_database().write() as session:
            issued = create_key(session, get_store(session, store), resource, label)
    except DomainError as error:
        fail(error)
    typer.echo(f"X-VTEX-API-AppKey: {issued.app_key}")
    typer.echo(f"X-VTEX-API-AppToken: {issued.app_token}")
    typer.echo("The token is shown only now; store it safely.")


@app.command("list")
def keys_list(store: Annotated[str | None, typer.Option()] = None) -> None:
    """List API keys (never their tokens)."""
    from customer_credit.auth.service import list_keys
    from customer_credit.errors import DomainError
    from customer_credit.stores.models import Store
    from customer_credit.stores.service import get_store

    try:
        with open_database().read() as session:
            found = list_keys(session, get_store(session, store) if store else None)
            names = {row.id: row.name for row in session.query(Store)}
            for key in found:
                state = "revoked" if key.revoked_at else "active"
                typer.echo(
                    f"{key.app_key}\t{names[key.store_id]}\t{state}\t{', '.join(key.resources)}\t{key.label}"
                )
    except DomainError as error:
        fail(error)


@app.command("revoke")
def keys_revoke(app_key: str) -> None:
    """Revoke an API key at once."""
    from customer_credit.auth.service import revoke_key
    from customer_credit.errors import DomainError

    try:
        with open_database().write() as session:
            revoke_key(session, app_key)
    except DomainError as error:
        fail(error)
    typer.echo(f"{app_key} revoked")
