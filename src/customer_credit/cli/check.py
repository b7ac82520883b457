"""`customer-credit check`: the books against their ledger."""

from typing import Annotated

import typer

from customer_credit.cli.database import open_database
from customer_credit.cli.errors import fail


def check(store: Annotated[str | None, typer.Option()] = None) -> None:
    """Recompute every account's figures from its ledger and report mismatches."""
    from customer_credit.errors import DomainError
    from customer_credit.ledger.service import recompute_mismatches
    from customer_credit.stores.service import get_store

    try:
        with open_database().read() as session:
            store_id = get_store(session, store).id if store else None
            mismatches = recompute_mismatches(session, store_id)
    except DomainError as error:
        fail(error)
    for mismatch in mismatches:
        typer.echo(
            f"{mismatch.public_id} (#{mismatch.account_id}) {mismatch.field}: "
            f"stored {mismatch.stored} {mismatch.unit}, ledger gives {mismatch.recomputed} {mismatch.unit}"
        )
    typer.echo(f"{len(mismatches)} mismatches")
    raise typer.Exit(code=1 if mismatches else 0)
