"""`customer-credit links`: "My Credits" links for customers."""

from datetime import timedelta
from typing import Annotated

import typer

from customer_credit.cli.database import open_database
from customer_credit.cli.errors import fail
from customer_credit.settings import get_settings

app = typer.Typer(help='"My Credits" links for customers (/my-credits).', no_args_is_help=True)


def _cli_principal(session, store: str):
    """The CLI acts for a store with every resource, under the name "cli" (links' created_by)."""
    from customer_credit.auth.principal import Principal
    from customer_credit.auth.resources import MAIN_ACCESS
    from customer_credit.stores.service import get_store

    return Principal(store_id=get_store(session, store).id, name="cli", resources=frozenset({MAIN_ACCESS}))


@app.command("create")
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
        with open_database().write() as session:
            issued = links.issue_link(session, _cli_principal(session, store), account, email, ttl)
            link_id, expires_at = issued.link.public_id, issued.expires_at
    except DomainError as error:
        fail(error)
    typer.echo(issued.url(base_url or f"http://{settings.host}:{settings.port}"))
    typer.echo(f"link {link_id}, valid until {expires_at.isoformat()}", err=True)


@app.command("list")
def links_list(
    store: Annotated[str, typer.Option(help="Store name.")],
    account: Annotated[str, typer.Option(help="Account id.")],
) -> None:
    """List an account's links, newest first (never their tokens)."""
    from customer_credit.errors import DomainError
    from customer_credit.my_credits import links

    try:
        with open_database().read() as session:
            for link in links.list_links(session, _cli_principal(session, store), account):
                typer.echo(
                    f"{link.public_id}\t{link.email}\t{links.status_of(link)}\t"
                    f"expires {link.expires_at.isoformat()}\tby {link.created_by}"
                )
    except DomainError as error:
        fail(error)


@app.command("revoke")
def links_revoke(
    link_id: str,
    store: Annotated[str, typer.Option(help="Store name.")],
    account: Annotated[str, typer.Option(help="Account id.")],
) -> None:
    """Revoke a link at once: the customer's page stops opening with it."""
    from customer_credit.errors import DomainError
    from customer_credit.my_credits import links

    try:
        with open_database().write() as session:
            links.revoke_link(session, _cli_principal(session, store), account, link_id)
    except DomainError as error:
        fail(error)
    typer.echo(f"{link_id} revoked")
