"""An account's trust level, on SQLite and PostgreSQL, through the API and the service layer: set
with PUT …/trustlevel (Edit credits), read in every account answer, each change an
`account.trust_level_changed` event with from, to, by and reason; bad input refused with a 400
naming the field, and the three values held on SQLite too, where the table has no CHECK."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from customer_credit.accounts.models import Account
from customer_credit.auth.resources import CREATE_ACCOUNTS, EDIT_CREDITS, READ_ACCOUNTS
from customer_credit.credit_control import trust
from customer_credit.errors import Conflict, InvalidInput, NotFound
from customer_credit.events.outbox import sequence_pending
from tests.helpers import account, open_account


def trust_path(account_id: str) -> str:
    return f"/accounts/{account_id}/trustlevel"


def set_level(api, account_id: str, level: str, **extra) -> dict:
    response = api.put(trust_path(account_id), json={"trustLevel": level, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def wire_moment(moment) -> str:
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def field_of(response) -> str:
    assert response.status_code == 400, response.text
    return response.json()["error"]["details"][0]["field"]


def trust_events(api) -> list[dict]:
    # The feed numbers at most 1,000 pending events per call, and the suite's database holds
    # every test's events: number them all first, so this store's are surely in the feed.
    while True:
        with api.store.database.write() as session:
            if not sequence_pending(session):
                break
    response = api.get("/events", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return [event for event in response.json()["data"] if event["type"] == "account.trust_level_changed"]


# --- through the API --------------------------------------------------------------------------


def test_every_account_starts_normal_and_every_answer_carries_the_level(api):
    opened = open_account(api)
    assert opened["trustLevel"] == "normal"
    assert account(api, opened["id"])["trustLevel"] == "normal"
    (found,) = api.get("/accounts", params={"email": opened["email"]}).json()["data"]
    assert found["trustLevel"] == "normal"


def test_an_operator_sets_the_level_and_reads_it_back(api, frozen_clock):
    account_id = open_account(api)["id"]
    frozen_clock.set(frozen_clock.moment + timedelta(days=1))

    answer = set_level(api, account_id, "watch", reason="paid late twice")

    assert answer["id"] == account_id and answer["trustLevel"] == "watch"
    assert answer["updatedAt"] == wire_moment(frozen_clock.moment)
    assert account(api, account_id)["trustLevel"] == "watch"
    assert set_level(api, account_id, "good")["trustLevel"] == "good"
    assert account(api, account_id)["trustLevel"] == "good"
    assert set_level(api, account_id, "normal")["trustLevel"] == "normal"


def test_an_operator_with_only_edit_credits_may_set_it(store, api):
    account_id = open_account(api)["id"]
    assert set_level(store.api(resources=(EDIT_CREDITS,)), account_id, "good")["trustLevel"] == "good"


def test_spaces_and_capitals_are_forgiven_and_stored_plain(api):
    account_id = open_account(api)["id"]
    assert set_level(api, account_id, " Watch ")["trustLevel"] == "watch"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"trustLevel": "excellent"}, "trustLevel"),
        ({"trustLevel": ""}, "trustLevel"),
        ({"trustLevel": "bad"}, "trustLevel"),
        ({"trustLevel": "watch\u0000"}, "trustLevel"),
        ({}, "trustLevel"),
        ({"trustLevel": None}, "trustLevel"),
        ({"trustLevel": 1}, "trustLevel"),
        ({"trustLevel": True}, "trustLevel"),
        ({"trustLevel": ["watch"]}, "trustLevel"),
        ({"trustLevel": "watch", "reason": 5}, "reason"),
        ({"trustLevel": "watch", "reason": "x" * 501}, "reason"),
        ({"trustLevel": "watch", "reason": "one\ntwo"}, "reason"),
        ({"trustLevel": "watch", "note": "unknown field"}, "note"),
    ],
)
def test_bad_bodies_are_refused_naming_the_field_and_change_nothing(api, body, field):
    account_id = open_account(api)["id"]

    assert field_of(api.put(trust_path(account_id), json=body)) == field

    assert account(api, account_id)["trustLevel"] == "normal"
    assert trust_events(api) == []


def test_a_body_that_is_not_json_is_refused(api):
    account_id = open_account(api)["id"]
    response = api.put(trust_path(account_id), content=b"watch", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert account(api, account_id)["trustLevel"] == "normal"


def test_a_viewer_key_is_forbidden(store, api):
    account_id = open_account(api)["id"]
    for resources in ((READ_ACCOUNTS,), (READ_ACCOUNTS, CREATE_ACCOUNTS)):
        refused = store.api(resources=resources).put(trust_path(account_id), json={"trustLevel": "watch"})
        assert refused.status_code == 403, refused.text
    assert account(api, account_id)["trustLevel"] == "normal"
    # A viewer still reads the level with the account.
    assert account(store.api(resources=(READ_ACCOUNTS,)), account_id)["trustLevel"] == "normal"


def test_an_unknown_or_closed_account(api):
    missing = api.put(trust_path("nobody_CPF"), json={"trustLevel": "watch"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "AccountNotFound"

    closed = open_account(api)["id"]
    set_level(api, closed, "watch")
    assert api.delete(f"/accounts/{closed}").status_code == 200
    refused = api.put(trust_path(closed), json={"trustLevel": "good"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "AccountClosed"
    # A closed account keeps the level it had.
    assert account(api, closed)["trustLevel"] == "watch"


def test_the_level_is_per_store(api, other_api):
    account_id = open_account(api)["id"]
    assert other_api.put(trust_path(account_id), json={"trustLevel": "watch"}).status_code == 404
    assert account(api, account_id)["trustLevel"] == "normal"


def test_the_same_level_again_is_a_200_without_an_event(api, frozen_clock):
    account_id = open_account(api)["id"]
    first = set_level(api, account_id, "watch")
    frozen_clock.set(frozen_clock.moment + timedelta(hours=1))

    again = set_level(api, account_id, "watch", reason="still")

    assert again["trustLevel"] == "watch"
    assert again["updatedAt"] == first["updatedAt"]  # nothing changed
    assert len(trust_events(api)) == 1
    # Normal on a new account is no change either.
    set_level(api, open_account(api)["id"], "normal")
    assert len(trust_events(api)) == 1


def test_a_retry_with_the_same_idempotency_key_changes_once(api):
    account_id = open_account(api)["id"]
    headers = {"Idempotency-Key": "trust-1"}
    for _ in range(2):
        response = api.put(trust_path(account_id), json={"trustLevel": "good"}, headers=headers)
        assert response.status_code == 200 and response.json()["trustLevel"] == "good"
    assert len(trust_events(api)) == 1


# --- events -----------------------------------------------------------------------------------


def test_each_change_is_an_event_with_from_to_by_and_reason(store, api, frozen_clock):
    account_id = open_account(api)["id"]
    operator = store.api(resources=(EDIT_CREDITS,))
    set_level(api, account_id, "watch", reason="  paid late twice  ")
    changed_at = frozen_clock.moment + timedelta(days=2)
    frozen_clock.set(changed_at)
    set_level(operator, account_id, "good")

    first, second = trust_events(api)

    assert first["data"]["account"]["id"] == account_id
    assert first["data"]["changes"] == {
        "trustLevel": {
            "from": "normal",
            "to": "watch",
            "by": api.headers["X-VTEX-API-AppKey"],
            "reason": "paid late twice",
        }
    }
    assert first["data"]["ledgerEntries"] == []
    assert second["data"]["changes"]["trustLevel"] == {
        "from": "watch",
        "to": "good",
        "by": operator.headers["X-VTEX-API-AppKey"],
        "reason": None,
    }
    assert second["timestamp"] == wire_moment(changed_at)


def test_a_refused_change_writes_no_event(store, api):
    account_id = open_account(api)["id"]
    store.api(resources=(READ_ACCOUNTS,)).put(trust_path(account_id), json={"trustLevel": "watch"})
    api.put(trust_path(account_id), json={"trustLevel": "nope"})
    api.put(trust_path("nobody_CPF"), json={"trustLevel": "watch"})
    assert trust_events(api) == []


# --- the service --------------------------------------------------------------------------------


def _row(session, store, public_id: str) -> Account:
    return session.scalars(
        select(Account).where(Account.store_id == store.id, Account.public_id == public_id)
    ).one()


def test_the_service_sets_reports_and_remembers_the_last_change(api, store, database, frozen_clock):
    account_id = open_account(api)["id"]
    principal = store.principal(name="ops@example.com")
    at = frozen_clock.moment
    with database.write() as session:
        assert trust.last_change(session, _row(session, store, account_id)) is None

        changed_account, changed = trust.set_trust_level(
            session, principal, account_id, "watch", "late", now=at
        )
        assert changed and changed_account.trust_level == "watch"
        assert trust.set_trust_level(session, principal, account_id, "WATCH", now=at)[1] is False
        trust.set_trust_level(session, principal, account_id, "good", now=at + timedelta(minutes=5))

        last = trust.last_change(session, _row(session, store, account_id))
    assert last == trust.TrustChange(
        from_level="watch", to_level="good", by="ops@example.com", reason=None, at=at + timedelta(minutes=5)
    )


def test_the_last_change_is_the_accounts_own(api, store, database, frozen_clock):
    mine = open_account(api)["id"]
    other = open_account(api)["id"]
    set_level(api, mine, "watch")
    with database.read() as session:
        assert trust.last_change(session, _row(session, store, other)) is None
        assert trust.last_change(session, _row(session, store, mine)).to_level == "watch"


@pytest.mark.parametrize("level", ["excellent", "", "normal.", None, 3])
def test_the_service_refuses_other_levels_on_both_databases(api, store, database, frozen_clock, level):
    account_id = open_account(api)["id"]
    with database.write() as session, pytest.raises(InvalidInput) as refusal:
        trust.set_trust_level(session, store.principal(), account_id, level, now=frozen_clock())
    assert refusal.value.details[0]["field"] == "trustLevel"
    assert account(api, account_id)["trustLevel"] == "normal"


def test_the_service_checks_the_input_before_the_account(store, database, frozen_clock):
    with database.write() as session:
        with pytest.raises(InvalidInput):
            trust.set_trust_level(session, store.principal(), "nobody_CPF", "nope", now=frozen_clock())
        with pytest.raises(NotFound):
            trust.set_trust_level(session, store.principal(), "nobody_CPF", "good", now=frozen_clock())


def test_the_service_refuses_a_closed_account(api, store, database, frozen_clock):
    account_id = open_account(api)["id"]
    assert api.delete(f"/accounts/{account_id}").status_code == 200
    with database.write() as session, pytest.raises(Conflict) as refusal:
        trust.set_trust_level(session, store.principal(), account_id, "good", now=frozen_clock())
    assert refusal.value.code == "AccountClosed"


@pytest.mark.postgresql_only  # SQLite has no CHECK on the column (the migration cannot add one there)
def test_postgresql_refuses_another_value_in_the_table(api, store, database):
    account_id = open_account(api)["id"]
    with pytest.raises(IntegrityError), database.write() as session:
        session.execute(update(Account).where(Account.public_id == account_id).values(trust_level="bad"))
        session.flush()
    assert account(api, account_id)["trustLevel"] == "normal"
