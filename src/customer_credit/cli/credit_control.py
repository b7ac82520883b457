"""`customer-credit credit-control`: the overdue policy of a store and its per-account overrides,
and an account's trust level (docs/credit-control.md). The CLI acts for the store under the name
"cli", which the policy's updatedBy, an override's setBy/revokedBy and a trust level change's
`by` record; "now" is the real time, as for the API."""

from typing import Annotated

import typer

from customer_credit.cli.database import open_database
from customer_credit.cli.errors import fail
from customer_credit.money import from_cents

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


def _adjust(
    kind: str, store: str, account: str, invoice: str, value: str, reason: str, reference: str | None
):
    from decimal import Decimal, InvalidOperation

    from customer_credit.credit_control import adjustments
    from customer_credit.db.base import utcnow
    from customer_credit.errors import DomainError, field_error

    try:
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise field_error("value", "must be a number, such as 12.50") from None
        with open_database().write() as session:
            document, new = adjustments.issue(
                session,
                _cli_principal(session, store),
                account,
                invoice,
                kind=kind,
                value=amount,
                reason=reason,
                reference=reference,
                now=utcnow(),
            )
            amount_text = from_cents(document.amount_cents)
            line = f"{document.number}: {amount_text} off invoice {invoice} ({document.reason})"
    except DomainError as error:
        fail(error)
    typer.echo(line if new else f"{line}: already made for reference {reference}, nothing changed")


@app.command("credit-note")
def credit_note(
    account: Annotated[str, typer.Argument(help="The account id.")],
    invoice: Annotated[str, typer.Argument(help="The invoice id.")],
    store: Annotated[str, typer.Option(help="Store name.")],
    value: Annotated[str, typer.Option(help="The amount, such as 12.50.")],
    reason: Annotated[str, typer.Option(help="Why the invoice is reduced.")],
    reference: Annotated[str | None, typer.Option(help="Your own document id: applied once.")] = None,
) -> None:
    """Issue a credit note that reduces what an Opened invoice owes."""
    from customer_credit.credit_control.models import CREDIT_NOTE

    _adjust(CREDIT_NOTE, store, account, invoice, value, reason, reference)


@app.command("write-off")
def write_off(
    account: Annotated[str, typer.Argument(help="The account id.")],
    invoice: Annotated[str, typer.Argument(help="The invoice id.")],
    store: Annotated[str, typer.Option(help="Store name.")],
    value: Annotated[str, typer.Option(help="The amount, such as 12.50.")],
    reason: Annotated[str, typer.Option(help="Why it cannot be collected.")],
    reference: Annotated[str | None, typer.Option(help="Your own document id: applied once.")] = None,
) -> None:
    """Write off what an Opened invoice owes, wholly or in part."""
    from customer_credit.credit_control.models import WRITE_OFF

    _adjust(WRITE_OFF, store, account, invoice, value, reason, reference)


@app.command("apply-balance")
def apply_balance(
    account: Annotated[str, typer.Argument(help="The account id.")],
    invoice: Annotated[
        str | None, typer.Argument(help="The invoice id; leave out to see the balance.")
    ] = None,
    store: Annotated[str, typer.Option(help="Store name.")] = "",
    value: Annotated[str | None, typer.Option(help="The amount to apply, such as 12.50.")] = None,
    reference: Annotated[
        str | None, typer.Option(help="Your own id for the application: applied once.")
    ] = None,
) -> None:
    """Pay an Opened invoice from the account's unapplied balance, or show that balance."""
    from decimal import Decimal, InvalidOperation

    from customer_credit.accounts import service as accounts
    from customer_credit.credit_control import balance
    from customer_credit.db.base import utcnow
    from customer_credit.errors import DomainError, field_error

    try:
        if invoice is None or value is None:
            if (invoice is None) != (value is None):
                raise field_error("value", "give both the invoice and --value to apply a balance")
            with open_database().read() as session:
                figures = balance.balance_wire(
                    session, accounts.get_account(session, _cli_principal(session, store), account)
                )
            typer.echo(
                f"{account}: balance {figures['balance']}, owed on open invoices "
                f"{figures['openInvoicesOwed']}, unapplied {figures['unappliedBalance']}"
            )
            return
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise field_error("value", "must be a number, such as 12.50") from None
        with open_database().write() as session:
            application, new = balance.apply_balance(
                session,
                _cli_principal(session, store),
                account,
                invoice,
                value=amount,
                reference=reference,
                now=utcnow(),
            )
            applied = from_cents(application.amount_cents)
    except DomainError as error:
        fail(error)
    suffix = "" if new else f" (already applied for reference {reference}, nothing changed)"
    typer.echo(f"applied {applied} of the balance of {account} to invoice {invoice}{suffix}")


@app.command("dunning")
def dunning_levels(
    store: Annotated[str, typer.Option(help="Store name.")],
    set_file: Annotated[
        str | None,
        typer.Option(
            "--set", help="A JSON file with the levels, as PUT /dunninglevels takes them ('-': stdin)."
        ),
    ] = None,
) -> None:
    """Show the store's dunning levels, or replace them with --set FILE."""
    import json
    import sys

    from pydantic import ValidationError

    from customer_credit.credit_control import dunning
    from customer_credit.credit_control.money_routes import DunningLevelsIn, level_in
    from customer_credit.db.base import utcnow
    from customer_credit.errors import DomainError, InvalidInput

    try:
        if set_file is None:
            with open_database().read() as session:
                levels = dunning.get_levels(session, _cli_principal(session, store).store_id)
                lines = [dunning.describe_level(level) for level in levels]
        else:
            if set_file == "-":
                raw = sys.stdin.read()
            else:
                with open(set_file, encoding="utf-8") as source:
                    raw = source.read()
            try:
                body = DunningLevelsIn.model_validate(json.loads(raw))
            except (ValueError, ValidationError) as error:
                raise InvalidInput(f"the levels file is not valid: {error}", code="InvalidLevels") from None
            with open_database().write() as session:
                levels = dunning.save_levels(
                    session,
                    _cli_principal(session, store),
                    [level_in(level) for level in body.levels],
                    now=utcnow(),
                )
                lines = [dunning.describe_level(level) for level in levels]
    except DomainError as error:
        fail(error)
    except OSError as error:
        typer.echo(f"error: cannot read {set_file}: {error.strerror}", err=True)
        raise typer.Exit(2) from None
    typer.echo("\n".join(lines) if lines else f"{store} has no dunning levels")
