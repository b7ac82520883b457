"""`customer-credit webhooks`: endpoints that receive signed event deliveries."""

from typing import Annotated

import typer

from customer_credit.cli.database import open_database
from customer_credit.cli.errors import fail
from customer_credit.settings import get_settings

app = typer.Typer(help="Webhook endpoints (signed event deliveries).", no_args_is_help=True)


@app.command("create")
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
        with open_database().write() as session:
            endpoint = create_endpoint(
                session, get_store(session, store).id, url=checked, event_types=event, description=description
            )
            public_id, secret = endpoint.public_id, endpoint.secret
    except DomainError as error:
        fail(error)
    typer.echo(f"endpoint: {public_id}")
    typer.echo(f"secret: {secret}")
    typer.echo("Verify each delivery's webhook-signature with this secret (see docs/events.md).")


@app.command("list")
def webhooks_list(store: Annotated[str, typer.Option(help="Store name.")]) -> None:
    """List a store's endpoints with their delivery counts (never their secrets)."""
    from customer_credit.errors import DomainError
    from customer_credit.events.webhooks import delivery_counts, list_endpoints
    from customer_credit.stores.service import get_store

    try:
        with open_database().read() as session:
            for endpoint in list_endpoints(session, get_store(session, store).id):
                counts = delivery_counts(session, endpoint)
                summary = ", ".join(f"{name} {count}" for name, count in sorted(counts.items())) or "none yet"
                types = ", ".join(endpoint.event_types or []) or "all events"
                typer.echo(f"{endpoint.public_id}\t{endpoint.url}\t{types}\tdeliveries: {summary}")
    except DomainError as error:
        fail(error)


@app.command("delete")
def webhooks_delete(endpoint_id: str, store: Annotated[str, typer.Option(help="Store name.")]) -> None:
    """Delete an endpoint: its pending deliveries are cancelled; the log stays."""
    from customer_credit.errors import DomainError
    from customer_credit.events.webhooks import delete_endpoint
    from customer_credit.stores.service import get_store

    try:
        with open_database().write() as session:
            delete_endpoint(session, get_store(session, store).id, endpoint_id)
    except DomainError as error:
        fail(error)
    typer.echo(f"{endpoint_id} deleted")


@app.command("deliveries")
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
        with open_database().read() as session:
            endpoint = get_endpoint(session, get_store(session, store).id, endpoint_id)
            for delivery, event_id, event_type in deliveries(session, endpoint, status=None, limit=limit):
                typer.echo(
                    f"{event_id}\t{event_type}\t{delivery.status}\tattempts={delivery.attempts}\t"
                    f"last={delivery.last_status_code or '-'}\t{delivery.last_error or ''}"
                )
    except DomainError as error:
        fail(error)


def _send_again(endpoint_id: str, event_id: str, store: str, *, resend: bool) -> None:
    from customer_credit.db.base import utcnow
    from customer_credit.errors import DomainError
    from customer_credit.events.webhooks import resend_delivery, retry_delivery
    from customer_credit.stores.service import get_store

    action = resend_delivery if resend else retry_delivery
    try:
        with open_database().write() as session:
            delivery = action(session, get_store(session, store).id, endpoint_id, event_id, now=utcnow())
            status = delivery.status
    except DomainError as error:
        fail(error)
    typer.echo(f"{event_id} to {endpoint_id}: {status} (sent again by the worker)")


@app.command("retry")
def webhooks_retry(
    endpoint_id: str, event_id: str, store: Annotated[str, typer.Option(help="Store name.")]
) -> None:
    """Try a failed delivery again, from its first attempt."""
    _send_again(endpoint_id, event_id, store, resend=False)


@app.command("resend")
def webhooks_resend(
    endpoint_id: str, event_id: str, store: Annotated[str, typer.Option(help="Store name.")]
) -> None:
    """Send a delivered event to the endpoint once more (the same webhook-id)."""
    _send_again(endpoint_id, event_id, store, resend=True)
