"""How a command fails: one line on stderr and exit code 2, never a traceback."""

from typing import Any, NoReturn

import typer
from typer.core import TyperGroup


def fail(error: Exception | str) -> NoReturn:
    typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


class ReportingGroup(TyperGroup):
    """The root command: a database that cannot be used (missing, not migrated, unreachable,
    refusing a statement) ends any command with one line instead of SQLAlchemy's traceback."""

    def invoke(self, ctx: Any) -> Any:
        from sqlalchemy.exc import SQLAlchemyError

        from customer_credit.cli.database import DatabaseUnusable, describe_error

        try:
            return super().invoke(ctx)
        except DatabaseUnusable as error:
            fail(error)
        except SQLAlchemyError as error:
            fail(describe_error(error))
