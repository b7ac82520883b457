"""The available figures have one definition (accounts.figures): the SQL expression that
queries sort by gives what the Python function, the API and the console dashboard give."""

import re

from sqlalchemy import select

from customer_credit.accounts.figures import (
    available_balance_cents,
    available_credit_cents,
    available_credit_sql,
)
from customer_credit.accounts.models import Account
from customer_credit.ledger.service import figures
from tests.console.support import signed_in
from tests.helpers import dec, hold, open_account


def test_sql_and_python_agree_with_the_api(database, store, api):
    account_id = open_account(api, credit_limit="100")["id"]
    assert hold(api, account_id, "30").status_code == 200
    debit = api.put(f"/accounts/{account_id}/statements/debit-1", json={"value": "-10"})
    assert debit.status_code == 200, debit.text
    with database.read() as session:
        account, in_sql = session.execute(
            select(Account, available_credit_sql()).where(
                Account.store_id == store.id, Account.public_id == account_id
            )
        ).one()
        # L 100, B −10, P 30
        assert (available_balance_cents(account), available_credit_cents(account), in_sql) == (
            9000,
            6000,
            6000,
        )
    wire = api.get(f"/accounts/{account_id}").json()
    assert (dec(wire["availableBalance"]), dec(wire["availableCredit"])) == (dec("90"), dec("60"))


def test_figures_read_any_row_with_the_stored_columns(database, store, api):
    account_id = open_account(api, credit_limit="50")["id"]
    assert hold(api, account_id, "20").status_code == 200
    with database.read() as session:
        row = session.execute(
            select(
                Account.credit_limit_cents,
                Account.tolerance_units,
                Account.balance_cents,
                Account.pre_authorized_cents,
            ).where(Account.store_id == store.id, Account.public_id == account_id)
        ).one()
    numbers = figures(row)
    assert (numbers.available_balance, numbers.available_credit) == (dec("50"), dec("30"))


def test_the_dashboard_shows_the_computed_figures(app, store, api):
    account_id = open_account(api, credit_limit="200")["id"]
    assert hold(api, account_id, "150").status_code == 200
    page = signed_in(app, store).get("/admin").text
    nearest = page.split("Accounts nearest their limit")[1]
    row = nearest[nearest.index(account_id) :].split("</tr>")[0]
    cells = re.findall(r'<td class="num">([^<]+)</td>', row)
    assert cells == ["$200.00", "$50.00", "75%"]
