"""`customer-credit credit-control`: the overdue policy of a store and its per-account overrides,
and an account's trust level (docs/credit-control.md). The CLI acts for the store under the name
"cli", which the policy's updatedBy, an override's setBy/revokedBy and a trust level change's
`by` record; "now" is the real time, as for the API."""

from typing import Annotated

import typer

from customer_credit.cli.database import open_database
from customer_credit.cli.errors import fail

app = typer.Typer(
    help="Credit control: the overdue policy, its per-account overrides, and trust levels.",
    no_args_is_help=True,
)


def _cli_principal(session, store: str):
    from customer_credit.auth.principal import Principal
    from customer_credit.auth.resources import MAIN_ACCESS
    from customer_credit.stores.service import get_store

    return Principal(store_id=get_store(session, store).id, name="cli", resources=frozenset({MAIN_ACCESS}))


@app.command("policy")
def policy(
    store: Annotated[str, typer.Option(help="Store name.")],
    mode: Annotated[str | None, typer.Option(help="off, flag or block.")] = None,
    days: Annotated[
        int | None, typer.Option(help="Days overdue an invoice may be before the policy acts (0 to 3650).")
    ] = None,
) -> None:
    """Show the store's overdue policy, or change it with --mode and/or --days."""
    from customer_credit.credit_control import overdue_policy
    from customer_credit.db.base import utcnow
    from customer_credit.errors import DomainError

    try:
        if mode is None and days is None:
            with open_database().read() as session:
                settings = overdue_policy.get_settings(session, _cli_principal(session, store).store_id)
                line = overdue_policy.describe_policy(settings)
        else:
            with open_database().write() as session:
                settings = overdue_policy.save_settings(
                    session, _cli_principal(session, store), mode, days, now=utcnow()
                )
                line = overdue_policy.describe_policy(settings)
    except DomainError as error:
        fail(error)
    typer.echo(f"overdue policy of {store}: {line}")


@app.command("override")
def override(
    account: Annotated[str, typer.Argument(help="The account id.")],
    store: Annotated[str, typer.Option(help="Store name.")],
    until: Annotated[
        str | None,
        typer.Option(help="Until when new holds go through, e.g. 2027-01-31T18:00 (UTC unless it says)."),
    ] = None,
    for_days: Annotated[
        int | None,
        typer.Option("--for-days", min=1, max=365, help="Instead of --until: this many days from now."),
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why (kept with the override).")] = None,
    revoke: Annotated[bool, typer.Option("--revoke", help="End the account's active override now.")] = False,
) -> None:
    """Set (--until or --for-days), revoke (--revoke) or, with neither, list an account's
    overdue overrides, newest first."""
    from datetime import timedelta

    from customer_credit.credit_control import overdue_policy
    from customer_credit.dates import parse_datetime
    from customer_credit.db.base import utcnow
    from customer_credit.errors import DomainError

    if sum((until is not None, for_days is not None, revoke)) > 1:
        fail("give one of --until, --for-days and --revoke")
    now = utcnow()
    try:
        if revoke:
            with open_database().write() as session:
                principal = _cli_principal(session, store)
                ended = overdue_policy.revoke_override(session, principal, account, now=now)
                typer.echo(f"override of {account} until {ended.allowed_until.isoformat()} revoked")
        elif until is not None or for_days is not None:
            moment = (
                parse_datetime("--until", until) if until is not None else now + timedelta(days=for_days or 0)
            )
            with open_database().write() as session:
                principal = _cli_principal(session, store)
                made = overdue_policy.set_override(session, principal, account, moment, reason, now=now)
                typer.echo(
                    f"{account} may take new holds despite the overdue policy until "
                    f"{made.allowed_until.isoformat()}"
                )
        else:
            with open_database().read() as session:
                found = overdue_policy.list_overrides(session, _cli_principal(session, store), account)
                for row in found:
                    typer.echo(_history_line(row, overdue_policy.status_of(row, now)))
                if not found:
                    typer.echo(f"{account} has no overdue overrides")
    except DomainError as error:
        fail(error)


@app.command("trust")
def trust_level(
    account: Annotated[str, typer.Argument(help="The account id.")],
    store: Annotated[str, typer.Option(help="Store name.")],
    level: Annotated[
        str | None, typer.Argument(help="good, normal or watch; without it, show the level.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why (kept in the change's event).")] = None,
) -> None:
    """Set an account's trust level (good, normal or watch), or show it and its last change."""
    from customer_credit.accounts import service as accounts
    from customer_credit.credit_control import trust
    from customer_credit.db.base import utcnow
    from customer_credit.errors import DomainError

    try:
        if level is None:
            with open_database().read() as session:
                found = accounts.get_account(session, _cli_principal(session, store), account)
                line = f"{account}: trust level {found.trust_level}"
                last = trust.last_change(session, found)
                if last is not None:
                    why = f": {last.reason}" if last.reason else ""
                    line += f" (set by {last.by} at {last.at.isoformat()}{why})"
        else:
            with open_database().write() as session:
                changed_account, changed = trust.set_trust_level(
                    session, _cli_principal(session, store), account, level, reason, now=utcnow()
                )
                line = f"{account}: trust level {changed_account.trust_level}"
                if not changed:
                    line += " (unchanged)"
    except DomainError as error:
        fail(error)
    typer.echo(line)


def _history_line(row, status: str) -> str:
    ended = f"\trevoked by {row.revoked_by} at {row.revoked_at.isoformat()}" if row.revoked_at else ""
    return (
        f"{status}\tuntil {row.allowed_until.isoformat()}\t"
        f"set by {row.set_by} at {row.created_at.isoformat()}\t{row.reason or ''}{ended}"
    )
