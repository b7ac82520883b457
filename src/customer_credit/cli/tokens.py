"""`customer-credit tokens`: signed user tokens (VtexIdclientAutCookie)."""

from datetime import timedelta
from typing import Annotated

import typer

from customer_credit.cli.database import open_database
from customer_credit.cli.errors import fail
from customer_credit.settings import get_settings

app = typer.Typer(help="User tokens (VtexIdclientAutCookie).", no_args_is_help=True)


@app.command("issue")
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
        with open_database().read() as session:
            token = issue_user_token(
                settings.resolved_secret_key(),
                get_store(session, store),
                email,
                resource,
                timedelta(minutes=ttl_minutes),
            )
    except DomainError as error:
        fail(error)
    typer.echo(token)
