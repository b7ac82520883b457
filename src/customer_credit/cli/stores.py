"""`customer-credit stores`: tenants."""

import typer

from customer_credit.cli.database import open_database
from customer_credit.cli.errors import fail

app = typer.Typer(help="Stores (tenants).", no_args_is_help=True)


@app.command("create")
def stores_create(name: str) -> None:
    """Create a store."""
    from customer_credit.errors import DomainError
    from customer_credit.stores.service import create_store

    try:
        with open_database().write() as session:
            store = create_store(session, name)
    except DomainError as error:
        fail(error)
    typer.echo(f"store {store.name} created")
