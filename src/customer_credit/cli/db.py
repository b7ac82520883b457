"""`customer-credit db`: the schema."""

import typer

from customer_credit.settings import get_settings

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to the configured database."""
    from customer_credit.db.migrate import upgrade

    upgrade(get_settings().database_url)
    typer.echo("database is at the latest schema")
