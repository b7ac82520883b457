"""`customer-credit demo` prints an operator who can sign in to the demo store (the first-run
operator belongs to the default store), and leaves an existing one alone; both databases."""

import re
import uuid

import pytest
from sqlalchemy import func, select

from customer_credit.accounts.models import Account
from customer_credit.stores.service import get_store
from customer_credit.users import service as users
from customer_credit.users.models import Operator
from tests.cli.support import one_error_line, run
from tests.console.support import Console

LOGIN = re.compile(r"store: (\S+)  e-mail: (\S+)  password: (\S+)")


@pytest.fixture
def cheap_password_hashes():
    users.configure_hasher(time_cost=1, memory_kib=1024)
    yield
    users.configure_hasher()


def test_demo_prints_an_operator_of_the_demo_store(settings, database, app, cheap_password_hashes):
    env = {
        "CUSTOMER_CREDIT_DATABASE_URL": settings.database_url,
        "CUSTOMER_CREDIT_DATA_DIR": str(settings.data_dir),
    }
    name = f"demo-{uuid.uuid4().hex[:8]}"
    args = ("demo", "--store", name, "--accounts", "3", "--invoices", "6", "--processes", "1", "--no-check")
    first = run(env, *args)
    assert first.exit_code == 0, first.output
    found = LOGIN.search(first.stdout)
    assert found, first.stdout
    store_name, email, password = found.groups()
    assert store_name == name and email == "demo@example.com"
    assert "shown only now" in first.stdout

    with database.read() as session:
        store_id = get_store(session, name).id
        demo_accounts = set(session.scalars(select(Account.public_id).where(Account.store_id == store_id)))
    assert len(demo_accounts) == 3

    console = Console(app)
    signed = console.sign_in(email, password, store=name)
    assert signed.status_code == 303, signed.text
    page = console.get("/admin/accounts")
    assert page.status_code == 200, page.text
    shown = set(re.findall(r'<a href="/admin/accounts/([^"]+)">', page.text))
    assert demo_accounts <= shown, (demo_accounts, shown)

    again = run(env, *args)
    assert again.exit_code == 0, again.output
    assert "password:" not in again.stdout and password not in again.stdout
    assert f"users set-password --store {name} --email demo@example.com" in again.stdout
    with database.read() as session:
        operators = session.scalar(
            select(func.count()).select_from(Operator).where(Operator.store_id == store_id)
        )
    assert operators == 1
    # The password printed the first time still signs in.
    assert Console(app).sign_in(email, password, store=name).status_code == 303


def test_a_bad_operator_email_stops_before_loading(tmp_path):
    env = {
        "CUSTOMER_CREDIT_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "CUSTOMER_CREDIT_DATA_DIR": str(tmp_path),
    }
    result = run(env, "demo", "--accounts", "2", "--invoices", "2", "--operator-email", "not-an-email")
    assert "operator-email" in one_error_line(result)
    assert not (tmp_path / "demo.db").exists()
