"""`customer-credit credit-control policy` and `… override`, on SQLite and PostgreSQL: what they
change is read back through the API; a refusal is one error line and changes nothing."""

from datetime import datetime, timedelta

import pytest

from tests.cli.support import one_error_line, run
from tests.helpers import open_account


@pytest.fixture
def env(settings, tmp_path) -> dict[str, str]:
    return {"CUSTOMER_CREDIT_DATABASE_URL": settings.database_url, "CUSTOMER_CREDIT_DATA_DIR": str(tmp_path)}


def moment(wire: str) -> datetime:
    return datetime.fromisoformat(wire.replace("Z", "+00:00"))


def test_policy_shows_and_changes_the_stores_policy(env, store, api):
    shown = run(env, "credit-control", "policy", "--store", store.name)
    assert shown.exit_code == 0, shown.output
    assert (
        shown.stdout.strip()
        == f"overdue policy of {store.name}: off: overdue invoices do not affect new holds"
    )

    changed = run(env, "credit-control", "policy", "--store", store.name, "--mode", "block", "--days", "10")

    assert changed.exit_code == 0, changed.output
    assert (
        "block: new holds are refused on accounts with an invoice overdue by more than 10 days"
        in changed.stdout
    )
    policy = api.get("/overduepolicy").json()
    assert (policy["mode"], policy["days"], policy["updatedBy"]) == ("block", 10, "cli")
    only_days = run(env, "credit-control", "policy", "--store", store.name, "--days", "1")
    assert "more than 1 day" in only_days.stdout and "block" in only_days.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--mode", "strict"), "mode: must be one of off, flag, block"),
        (("--days", "-3"), "days: must be a whole number between 0 and 3650"),
    ],
)
def test_a_bad_policy_is_one_error_line(env, store, api, args, words):
    result = run(env, "credit-control", "policy", "--store", store.name, *args)

    assert words in one_error_line(result)
    assert api.get("/overduepolicy").json()["mode"] == "off"


def test_an_unknown_store_is_one_error_line(env):
    assert "no store named" in one_error_line(
        run(env, "credit-control", "policy", "--store", "no-such-store")
    )


def test_override_sets_lists_and_revokes(env, store, api):
    account_id = open_account(api)["id"]
    base = ("credit-control", "override", "--store", store.name, account_id)

    made = run(env, *base, "--for-days", "10", "--reason", "agreed by phone")

    assert made.exit_code == 0, made.output
    assert f"{account_id} may take new holds despite the overdue policy until" in made.stdout
    (stored,) = api.get(f"/accounts/{account_id}/overdueoverrides").json()["data"]
    assert (stored["status"], stored["setBy"], stored["reason"]) == ("active", "cli", "agreed by phone")
    assert moment(stored["until"]) - moment(stored["createdAt"]) == timedelta(days=10)

    listed = run(env, *base)
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.startswith("active\tuntil ") and "set by cli" in listed.stdout
    assert "agreed by phone" in listed.stdout

    revoked = run(env, *base, "--revoke")
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in revoked.stdout
    (ended,) = api.get(f"/accounts/{account_id}/overdueoverrides").json()["data"]
    assert (ended["status"], ended["revokedBy"]) == ("revoked", "cli")
    assert "revoked by cli" in run(env, *base).stdout
    assert "no active overdue override" in one_error_line(run(env, *base, "--revoke"))


def test_override_until_a_moment_replaces_the_active_one(env, store, api):
    account_id = open_account(api)["id"]
    base = ("credit-control", "override", "--store", store.name, account_id)
    assert run(env, *base, "--for-days", "30").exit_code == 0
    listed = run(env, *base).stdout.splitlines()
    first_until = moment(api.get(f"/accounts/{account_id}/overdueoverrides").json()["data"][0]["until"])
    until = first_until - timedelta(days=20)  # in the future: the first one was set 30 days ahead

    replaced = run(env, *base, "--until", until.strftime("%Y-%m-%dT%H:%M:%S"))

    assert replaced.exit_code == 0, replaced.output
    history = api.get(f"/accounts/{account_id}/overdueoverrides").json()["data"]
    assert [row["status"] for row in history] == ["active", "revoked"]
    assert moment(history[0]["until"]) == until.replace(microsecond=0)
    assert len(listed) == 1


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--until", "2000-01-01T00:00"), "until: must be in the future"),
        (("--until", "soon"), "--until: must be an ISO 8601 date or date-time"),
        (("--until", "2099-01-01", "--revoke"), "give one of --until, --for-days and --revoke"),
        (("--for-days", "3", "--reason", "a\nb"), "reason: must not contain control characters"),
    ],
)
def test_a_bad_override_is_one_error_line(env, store, api, args, words):
    account_id = open_account(api)["id"]

    result = run(env, "credit-control", "override", "--store", store.name, account_id, *args)

    assert words in one_error_line(result)
    assert api.get(f"/accounts/{account_id}/overdueoverrides").json()["data"] == []


def test_an_override_of_an_unknown_account_is_one_error_line(env, store):
    result = run(env, "credit-control", "override", "--store", store.name, "nobody_CPF", "--for-days", "1")
    assert "no account nobody_CPF" in one_error_line(result)
