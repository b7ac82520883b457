"""`customer-credit reminders`: what the due-date reminders will send, and what they sent."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from customer_credit.cli.database import open_database
from customer_credit.cli.errors import fail
from customer_credit.settings import get_settings

if TYPE_CHECKING:
    from customer_credit.reminders.preview import PreviewItem

app = typer.Typer(help="Due-date reminders by e-mail.", no_args_is_help=True)


@app.command("preview")
def reminders_preview(
    date: Annotated[
        str | None, typer.Option("--date", help="The day, YYYY-MM-DD (in each store's time zone).")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="A moment, e.g. 2027-01-05T10:00 (UTC unless it says): what a worker run then "
            "would send. A dry run: unlike CUSTOMER_CREDIT_CLOCK_OFFSET_DAYS it moves no hold or "
            "invoice and writes nothing.",
        ),
    ] = None,
    store: Annotated[str | None, typer.Option(help="Only this store.")] = None,
) -> None:
    """List the reminders that would be sent on a day (--date) or by a worker run at a moment
    (--at), from the invoices as they are now."""
    if at is not None and date is None:
        _preview_at(at, store)
    elif date is not None and at is None:
        _preview_day(date, store)
    else:
        fail("give --date YYYY-MM-DD or --at YYYY-MM-DDTHH:MM, one of them")


def _preview_at(at: str, store: str | None) -> None:
    from customer_credit.dates import parse_datetime
    from customer_credit.errors import DomainError
    from customer_credit.reminders.preview import preview_at

    try:
        moment = parse_datetime("--at", at)
    except DomainError as error:
        fail(error)
    catch_up_days = get_settings().reminder_catch_up_days
    with open_database().read() as session:
        items = preview_at(session, moment, store_name=store, catch_up_days=catch_up_days)
    for item in items:
        typer.echo(_line(item))
    sending = sum(1 for item in items if not item.status.startswith("would skip"))
    typer.echo(
        f"{sending} reminders would be sent at {moment:%Y-%m-%dT%H:%M}Z "
        f"({len(items) - sending} skipped); a dry run: nothing was sent or written"
    )


def _preview_day(date: str, store: str | None) -> None:
    from datetime import date as calendar_date

    from customer_credit.reminders.preview import preview

    try:
        day = calendar_date.fromisoformat(date)
    except ValueError:
        fail("--date must be YYYY-MM-DD")
    with open_database().read() as session:
        items = preview(session, day, store_name=store)
    for item in items:
        typer.echo(_line(item))
    typer.echo(f"{len(items)} reminders on {day.isoformat()}")


def _line(item: "PreviewItem") -> str:
    from customer_credit.money import from_cents

    local: datetime = item.send_at.astimezone(_zone(item.timezone))
    return (
        f"{local:%Y-%m-%d %H:%M} {item.timezone}\t{item.store}\t{item.friendly_id}\t{item.invoice_id}\t"
        f"{item.trigger}\t{from_cents(item.amount_due_cents)} {item.currency}\t"
        f"{', '.join(item.recipients)}\t{item.status}"
    )


def _zone(name: str):
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return ZoneInfo("UTC")


@app.command("log")
def reminders_log(
    store: Annotated[str, typer.Option(help="Store name.")],
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """The latest reminders of a store: status, attempts, recipients, last error."""
    from customer_credit.errors import DomainError
    from customer_credit.reminders.service import reminder_log
    from customer_credit.stores.service import get_store

    try:
        with open_database().read() as session:
            for reminder, invoice_id in reminder_log(session, get_store(session, store).id, limit=limit):
                typer.echo(
                    f"{reminder.scheduled_at:%Y-%m-%dT%H:%M}Z\t{invoice_id}\t"
                    f"{reminder.kind} {reminder.days}\t{reminder.status}\tattempts={reminder.attempts}\t"
                    f"{', '.join(reminder.recipients or [])}\t{reminder.last_error or ''}"
                )
    except DomainError as error:
        fail(error)
