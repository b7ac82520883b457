"""`customer-credit users`: operators of the admin console."""

from typing import Annotated

import typer

from customer_credit.cli.database import open_database
from customer_credit.cli.errors import fail
from customer_credit.validation import normalize_email

app = typer.Typer(help="Operators of the admin console (/admin).", no_args_is_help=True)


def _password_or_new(password: str | None) -> tuple[str, bool]:
    """The given password, one typed at the prompt, or a generated one (empty prompt, or no
    terminal). Returns (password, generated)."""
    import sys

    from customer_credit.users import service as users

    if password:
        return password, False
    if sys.stdin.isatty():
        typed = typer.prompt(
            "Password (empty: generate one)",
            default="",
            hide_input=True,
            confirmation_prompt=True,
            show_default=False,
        )
        if typed:
            return typed, False
    return users.generate_password(), True


@app.command("create")
def users_create(
    store: Annotated[str, typer.Option(help="Store name.")],
    email: Annotated[str, typer.Option(help="The operator's e-mail (their sign-in name).")],
    role: Annotated[str, typer.Option(help="admin (reads and changes) or viewer (reads only).")] = "admin",
    password: Annotated[
        str | None, typer.Option(help="At least 12 characters; prompted or generated if absent.")
    ] = None,
) -> None:
    """Create a console operator; a generated password is printed once."""
    from customer_credit.errors import DomainError
    from customer_credit.stores.service import get_store
    from customer_credit.users import service as users

    chosen, generated = _password_or_new(password)
    try:
        with open_database().write() as session:
            operator = users.create_operator(session, get_store(session, store), email, role, chosen)
            shown = operator.email
    except DomainError as error:
        fail(error)
    typer.echo(f"operator {shown} ({role}) created in store {store}")
    if generated:
        typer.echo(f"password: {chosen}")
        typer.echo("The password is shown only now.")


@app.command("set-password")
def users_set_password(
    store: Annotated[str, typer.Option()],
    email: Annotated[str, typer.Option()],
    password: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Set a new password (ends the operator's sessions)."""
    from customer_credit.errors import DomainError
    from customer_credit.stores.service import get_store
    from customer_credit.users import service as users

    chosen, generated = _password_or_new(password)
    try:
        with open_database().write() as session:
            users.set_password(session, get_store(session, store), email, chosen)
    except DomainError as error:
        fail(error)
    typer.echo(f"password of {normalize_email(email)} changed")
    if generated:
        typer.echo(f"password: {chosen}")


@app.command("disable")
def users_disable(
    store: Annotated[str, typer.Option()],
    email: Annotated[str, typer.Option()],
    enable: Annotated[bool, typer.Option("--enable", help="Enable again instead.")] = False,
) -> None:
    """Disable an operator at once (their sessions end), or enable them again."""
    from customer_credit.errors import DomainError
    from customer_credit.stores.service import get_store
    from customer_credit.users import service as users

    try:
        with open_database().write() as session:
            users.set_disabled(session, get_store(session, store), email, not enable)
    except DomainError as error:
        fail(error)
    typer.echo(f"{normalize_email(email)} {'enabled' if enable else 'disabled'}")


@app.command("list")
def users_list(store: Annotated[str | None, typer.Option()] = None) -> None:
    """List operators (never their passwords)."""
    from customer_credit.errors import DomainError
    from customer_credit.stores.models import Store
    from customer_credit.stores.service import get_store
    from customer_credit.users import service as users

    try:
        with open_database().read() as session:
            names = {row.id: row.name for row in session.query(Store)}
            for operator in users.list_operators(session, get_store(session, store) if store else None):
                state = "disabled" if operator.disabled_at else "active"
                typer.echo(f"{operator.email}\t{names[operator.store_id]}\t{operator.role}\t{state}")
    except DomainError as error:
        fail(error)
