"""`customer-credit first-run`: what `make run` does before serving, once."""

import json
from pathlib import Path

import typer

from customer_credit.cli.database import open_database
from customer_credit.private_files import write_private_text
from customer_credit.settings import Settings, get_settings

FIRST_KEY_FILE = "first-run-key.json"
FIRST_OPERATOR_FILE = "first-run-operator.json"
FIRST_OPERATOR_EMAIL = "admin@example.com"


def first_run() -> None:
    """Prepare the embedded database: schema, a default store and a Main Access key (once)."""
    from customer_credit.auth.resources import MAIN_ACCESS
    from customer_credit.auth.service import create_key
    from customer_credit.db.migrate import upgrade
    from customer_credit.stores.service import DEFAULT_STORE_NAME, get_or_create_store

    settings = get_settings()
    upgrade(settings.database_url)
    key_file = Path(settings.data_dir) / FIRST_KEY_FILE
    if key_file.exists():
        credentials = json.loads(key_file.read_text())
        note = f"Reusing the first key, kept in {key_file}."
    else:
        with open_database().write() as session:
            store = get_or_create_store(session, DEFAULT_STORE_NAME)
            issued = create_key(session, store, [MAIN_ACCESS], "first run")
        credentials = {"appKey": issued.app_key, "appToken": issued.app_token, "store": DEFAULT_STORE_NAME}
        write_private_text(key_file, json.dumps(credentials, indent=2))
        note = f"Created store '{DEFAULT_STORE_NAME}' and a Main Access key, kept in {key_file}."
    base = f"http://{settings.host}:{settings.port}"
    typer.echo(note)
    typer.echo("Make another key with: customer-credit keys create --store default --resource 'Main Access'")
    typer.echo("Try the API:")
    typer.echo(
        f"  curl -s -X POST {base}/api/creditcontrol/accounts \\\n"
        f"    -H 'X-VTEX-API-AppKey: {credentials['appKey']}' \\\n"
        f"    -H 'X-VTEX-API-AppToken: {credentials['appToken']}' \\\n"
        f"    -H 'Content-Type: application/json' \\\n"
        f'    -d \'{{"document": "55555555555", "documentType": "CPF", '
        f'"email": "customer@example.com", "creditLimit": "3000", "tolerance": "0.05"}}\''
    )
    typer.echo(f"Interactive docs: {base}/docs")
    _first_operator(settings, base)


def _first_operator(settings: Settings, base: str) -> None:
    """Creates the default store's first admin once and keeps its password beside the first key."""
    from customer_credit.stores.service import DEFAULT_STORE_NAME, get_or_create_store
    from customer_credit.users import service as users
    from customer_credit.users.models import ADMIN

    operator_file = Path(settings.data_dir) / FIRST_OPERATOR_FILE
    if operator_file.exists():
        login = json.loads(operator_file.read_text())
        note = f"Reusing the first operator, kept in {operator_file}."
    else:
        password = users.generate_password()
        with open_database().write() as session:
            store = get_or_create_store(session, DEFAULT_STORE_NAME)
            if users.find_operator(session, store, FIRST_OPERATOR_EMAIL) is not None:
                typer.echo(
                    f"Operator {FIRST_OPERATOR_EMAIL} exists but {operator_file} is gone; "
                    "set a new password with: customer-credit users set-password "
                    f"--store {DEFAULT_STORE_NAME} --email {FIRST_OPERATOR_EMAIL}"
                )
                return
            users.create_operator(session, store, FIRST_OPERATOR_EMAIL, ADMIN, password)
        login = {"email": FIRST_OPERATOR_EMAIL, "password": password, "store": DEFAULT_STORE_NAME}
        write_private_text(operator_file, json.dumps(login, indent=2))
        note = f"Created the admin operator {FIRST_OPERATOR_EMAIL}, kept in {operator_file}."
    typer.echo(note)
    typer.echo(f"Admin console: {base}/admin  e-mail: {login['email']}  password: {login['password']}")
