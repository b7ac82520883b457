"""The `customer-credit` command: one module per command group, registered here in the order
`--help` lists them."""

import typer

from customer_credit.cli import (
    aging,
    check,
    credit_control,
    db,
    demo,
    first_run,
    keys,
    links,
    reminders,
    serve,
    stores,
    tokens,
    users,
    webhooks,
)
from customer_credit.cli.errors import ReportingGroup

# Re-exported: the commands read the settings through it, and tests clear its cache.
from customer_credit.settings import get_settings

__all__ = ["app", "get_settings", "main"]

app = typer.Typer(
    help="Customer Credit: a self-hosted credit service speaking the VTEX API.",
    no_args_is_help=True,
    cls=ReportingGroup,
)
app.command()(serve.serve)
app.command()(serve.worker)
app.command()(check.check)
app.command("first-run")(first_run.first_run)
app.command()(demo.demo)
app.command()(aging.aging)
app.add_typer(db.app, name="db")
app.add_typer(stores.app, name="stores")
app.add_typer(keys.app, name="keys")
app.add_typer(tokens.app, name="tokens")
app.add_typer(users.app, name="users")
app.add_typer(links.app, name="links")
app.add_typer(reminders.app, name="reminders")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(credit_control.app, name="credit-control")


def main() -> None:
    app()
