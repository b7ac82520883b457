"""`customer-credit credit-control credit-note | write-off | apply-balance | dunning`, on SQLite
and PostgreSQL: each calls the same service as the API (what it does is read back through the
API), a refusal is one error line with a non-zero exit and changes nothing."""

import json

import pytest

from tests.cli.support import one_error_line, run
from tests.credit_control.test_adjustments import an_invoice, invoices_of
from tests.credit_control.test_apply_balance import credit_of, new_invoice, unapplied
from tests.helpers import dec


@pytest.fixture
def env(settings, tmp_path) -> dict[str, str]:
    return {"CUSTOMER_CREDIT_DATABASE_URL": settings.database_url, "CUSTOMER_CREDIT_DATA_DIR": str(tmp_path)}


def test_credit_notes_and_write_offs_from_the_cli(env, store, api):
    account_id, _, [invoice] = an_invoice(api, "100")
    base = ("--store", store.name, account_id, invoice["id"])
    made = run(env, "credit-control", "credit-note", *base, "--value", "12.50", "--reason", "damaged")
    assert made.exit_code == 0, made.output
    assert made.stdout.strip() == f"CN-000001: 12.50 off invoice {invoice['id']} (damaged)"
    again = run(
        env, "credit-control", "write-off", *base, "--value", "7", "--reason", "goodwill", "--reference", "W1"
    )
    assert again.exit_code == 0, again.output
    replay = run(
        env, "credit-control", "write-off", *base, "--value", "7", "--reason", "goodwill", "--reference", "W1"
    )
    assert replay.exit_code == 0 and "nothing changed" in replay.stdout
    [after] = invoices_of(api, account_id)
    assert (dec(after["value"]), dec(after["creditedValue"]), dec(after["writtenOffValue"])) == (
        dec("80.50"),
        dec("12.50"),
        7,
    )

    too_much = run(env, "credit-control", "write-off", *base, "--value", "80.51", "--reason", "x")
    assert too_much.exit_code != 0
    assert "WriteOffExceedsOwed" in one_error_line(too_much) or "exceeds" in one_error_line(too_much)
    not_a_number = run(env, "credit-control", "credit-note", *base, "--value", "ten", "--reason", "x")
    assert not_a_number.exit_code != 0 and "value" in one_error_line(not_a_number)
    [unchanged] = invoices_of(api, account_id)
    assert dec(unchanged["value"]) == dec("80.50")


def test_apply_balance_from_the_cli(env, store, api):
    account_id = credit_of(api, "50")
    invoice = new_invoice(api, account_id, "30")
    shown = run(env, "credit-control", "apply-balance", account_id, "--store", store.name)
    assert shown.exit_code == 0, shown.output
    assert (
        shown.stdout.strip() == f"{account_id}: balance 20.00, owed on open invoices 30.00, unapplied 50.00"
    )
    applied = run(
        env,
        "credit-control",
        "apply-balance",
        account_id,
        invoice["id"],
        "--store",
        store.name,
        "--value",
        "30",
    )
    assert applied.exit_code == 0, applied.output
    assert (
        applied.stdout.strip() == f"applied 30.00 of the balance of {account_id} to invoice {invoice['id']}"
    )
    assert dec(unapplied(api, account_id)["unappliedBalance"]) == 20
    refused = run(
        env,
        "credit-control",
        "apply-balance",
        account_id,
        invoice["id"],
        "--store",
        store.name,
        "--value",
        "1",
    )
    assert refused.exit_code != 0 and "paid" in one_error_line(refused)


def test_dunning_levels_from_the_cli(env, store, api, tmp_path):
    empty = run(env, "credit-control", "dunning", "--store", store.name)
    assert empty.exit_code == 0 and empty.stdout.strip() == f"{store.name} has no dunning levels"
    levels = tmp_path / "levels.json"
    levels.write_text(
        json.dumps(
            {
                "levels": [
                    {"days": 10, "name": "Firm", "lateFee": {"fixed": "5", "rate": "0.02"}},
                    {"days": 3, "name": "Friendly"},
                ]
            }
        )
    )
    saved = run(env, "credit-control", "dunning", "--store", store.name, "--set", str(levels))
    assert saved.exit_code == 0, saved.output
    assert saved.stdout.splitlines() == [
        "+3 days at 09:00: Friendly; the store's overdue e-mail; no late fee",
        "+10 days at 09:00: Firm; the store's overdue e-mail; "
        "late fee 5.00 + 2% of what is owed, due 10 days later",
    ]
    assert [level["days"] for level in api.get("/dunninglevels").json()["levels"]] == [3, 10]
    levels.write_text(json.dumps({"levels": [{"days": 0, "name": "x"}]}))
    bad = run(env, "credit-control", "dunning", "--store", store.name, "--set", str(levels))
    assert bad.exit_code != 0 and "levels[0].days" in one_error_line(bad)
    missing = run(
        env, "credit-control", "dunning", "--store", store.name, "--set", str(tmp_path / "none.json")
    )
    assert missing.exit_code != 0
    assert [level["days"] for level in api.get("/dunninglevels").json()["levels"]] == [3, 10]
