"""`customer-credit aging`: a store's aging report as a table, and optionally as a CSV file."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from customer_credit.cli.database import open_database
from customer_credit.cli.errors import fail

if TYPE_CHECKING:
    from customer_credit.credit_control.aging import StoreAging


def aging(
    store: Annotated[str, typer.Option(help="Store name.")],
    csv: Annotated[
        Path | None, typer.Option("--csv", help="Also write the report to this CSV file.", dir_okay=False)
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="As of this moment (ISO 8601, UTC unless it says) or day (YYYY-MM-DD, in the "
            "store's time zone); now by default.",
        ),
    ] = None,
) -> None:
    """What customers owe on open invoices by days overdue (current, 1-30, 31-60, 61-90, over
    90), per account (largest total first) and in all."""
    from customer_credit.auth.principal import Principal
    from customer_credit.auth.resources import READ_INVOICES
    from customer_credit.credit_control.aging import moment_of, store_aging, zone_of
    from customer_credit.csv_io.export import aging_csv
    from customer_credit.db.base import utcnow
    from customer_credit.errors import DomainError
    from customer_credit.stores.service import get_store

    try:
        with open_database().read() as session:
            principal = Principal(
                store_id=get_store(session, store).id, name="cli", resources=frozenset({READ_INVOICES})
            )
            # The command's caller is the operator at the terminal: its "now" is the real time.
            now = moment_of(at, zone_of(session, principal), default=utcnow(), field="--at")
            report = store_aging(session, principal, now=now)
    except DomainError as error:
        fail(error)
    for text in table(report, store):
        typer.echo(text)
    if csv is not None:
        try:
            with csv.open("w", encoding="utf-8", newline="") as file:
                file.writelines(aging_csv(report))
        except OSError as error:
            fail(f"cannot write {csv}: {error.strerror or error}")
        typer.echo(f"wrote {csv}")


def table(report: "StoreAging", store: str) -> list[str]:
    """The report as aligned text: a title, one line per account, then the total."""
    from customer_credit.credit_control.aging import BUCKET_LABELS
    from customer_credit.money import from_cents

    header = ["Account", *BUCKET_LABELS, "Total"]
    lines = [
        [
            row.public_id,
            *(str(from_cents(cents)) for cents in row.buckets.cents),
            str(from_cents(row.buckets.total)),
        ]
        for row in report.rows
    ]
    total = [
        "Total",
        *(str(from_cents(cents)) for cents in report.buckets.cents),
        str(from_cents(report.buckets.total)),
    ]
    widths = [max(len(cells[index]) for cells in [header, *lines, total]) for index in range(len(header))]

    def formatted(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return [
        f"Aging of {store} on {report.today.isoformat()} ({report.zone.key}): "
        f"{report.account_count} accounts owe {from_cents(report.buckets.total)}",
        formatted(header),
        rule,
        *(formatted(cells) for cells in lines),
        rule,
        formatted(total),
    ]
