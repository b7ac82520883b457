"""`customer-credit credit-control trust`, on SQLite and PostgreSQL: what it sets is read back
through the API and the event feed; a refusal is one error line and changes nothing."""

import pytest

from customer_credit.events.outbox import sequence_pending
from tests.cli.support import one_error_line, run
from tests.helpers import account, open_account


@pytest.fixture
def env(settings, tmp_path) -> dict[str, str]:
    return {"CUSTOMER_CREDIT_DATABASE_URL": settings.database_url, "CUSTOMER_CREDIT_DATA_DIR": str(tmp_path)}


def trust_events(api) -> list[dict]:
    while True:
        with api.store.database.write() as session:
            if not sequence_pending(session):
                break
    feed = api.get("/events", params={"limit": 1000}).json()["data"]
    return [event for event in feed if event["type"] == "account.trust_level_changed"]


def test_trust_sets_shows_and_records_the_cli_as_who(env, store, api):
    account_id = open_account(api)["id"]
    base = ("credit-control", "trust", "--store", store.name, account_id)

    never = run(env, *base)
    assert never.exit_code == 0, never.output
    assert never.stdout.strip() == f"{account_id}: trust level normal"

    made = run(env, *base, "watch", "--reason", "paid late twice")

    assert made.exit_code == 0, made.output
    assert made.stdout.strip() == f"{account_id}: trust level watch"
    assert account(api, account_id)["trustLevel"] == "watch"
    (event,) = trust_events(api)
    assert event["data"]["changes"]["trustLevel"] == {
        "from": "normal",
        "to": "watch",
        "by": "cli",
        "reason": "paid late twice",
    }

    shown = run(env, *base)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.startswith(f"{account_id}: trust level watch (set by cli at ")
    assert shown.stdout.strip().endswith(": paid late twice)")

    again = run(env, *base, "watch")
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == f"{account_id}: trust level watch (unchanged)"
    assert len(trust_events(api)) == 1


def test_options_may_come_after_the_arguments(env, store, api):
    account_id = open_account(api)["id"]
    result = run(env, "credit-control", "trust", account_id, "good", "--store", store.name)
    assert result.exit_code == 0, result.output
    assert account(api, account_id)["trustLevel"] == "good"


@pytest.mark.parametrize(
    ("level", "account_id", "words"),
    [
        ("excellent", None, "trustLevel: must be one of good, normal, watch"),
        ("watch", "nobody_CPF", "no account nobody_CPF"),
    ],
)
def test_a_bad_level_or_account_is_one_error_line(env, store, api, level, account_id, words):
    opened = open_account(api)["id"]
    result = run(env, "credit-control", "trust", "--store", store.name, account_id or opened, level)

    assert words in one_error_line(result)
    assert account(api, opened)["trustLevel"] == "normal"
    assert trust_events(api) == []


def test_a_closed_account_is_one_error_line(env, store, api):
    account_id = open_account(api)["id"]
    assert api.delete(f"/accounts/{account_id}").status_code == 200
    result = run(env, "credit-control", "trust", "--store", store.name, account_id, "good")
    assert "is closed" in one_error_line(result)


def test_an_unknown_store_is_one_error_line(env):
    assert "no store named" in one_error_line(
        run(env, "credit-control", "trust", "--store", "no-such-store", "someone_CPF", "good")
    )
