"""The overdue policy, on SQLite and PostgreSQL, through the API and the service layer: a store
setting blocks, flags or ignores new holds on accounts with an invoice overdue by more than N
days (calendar days in the store's time zone, at the request's clock), for the API's holds and
the checkout connector alike; an operator's override lets one account through until a moment.
Invoices become overdue by moving the frozen clock past their due date."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from customer_credit.accounts.models import Account
from customer_credit.auth.resources import EDIT_CREDITS, READ_ACCOUNTS, READ_CONFIGURATION
from customer_credit.credit_control import overdue_policy
from customer_credit.credit_control.models import OverdueOverride
from customer_credit.errors import Conflict, InvalidInput
from customer_credit.events.outbox import sequence_pending
from customer_credit.invoices.models import Invoice
from customer_credit.stores.models import StoreConfig
from customer_credit.transactions.models import Transaction
from tests.checkout.support import gateway_for, payment_body
from tests.helpers import account, configure, dec, hold, open_account, purchase

POLICY = "/overduepolicy"


def set_policy(api, mode: str, days: int) -> dict:
    response = api.put(POLICY, json={"mode": mode, "days": days})
    assert response.status_code == 200, response.text
    return response.json()


def overrides(account_id: str) -> str:
    return f"/accounts/{account_id}/overdueoverrides"


def current(account_id: str) -> str:
    return overrides(account_id) + "/current"


def wire_moment(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def indebted_account(api, *, limit="1000", value="100") -> tuple[str, datetime]:
    """An account with one Opened 100.00 invoice: (account id, its due moment)."""
    account_id = open_account(api, credit_limit=limit)["id"]
    purchase(api, account_id, value)
    (invoice,) = api.get(f"/accounts/{account_id}/invoices").json()["data"]
    return account_id, datetime.fromisoformat(invoice["dueDate"].replace("Z", "+00:00"))


def refused(response, code: str = "OverdueInvoices") -> dict:
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    return error


def field_of(response) -> str:
    assert response.status_code == 400, response.text
    return response.json()["error"]["details"][0]["field"]


def events_of(api, event_type: str) -> list[dict]:
    # The feed numbers at most 1,000 pending events per call, and the suite's database holds
    # every test's events: number them all first, so this store's are surely in the feed.
    while True:
        with api.store.database.write() as session:
            if not sequence_pending(session):
                break
    response = api.get("/events", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return [event for event in response.json()["data"] if event["type"] == event_type]


# --- the policy setting ---------------------------------------------------------------------


def test_the_policy_is_off_by_default_and_saves_mode_days_and_who(api, frozen_clock):
    assert api.get(POLICY).json() == {"mode": "off", "days": 0, "updatedBy": None, "updatedAt": None}

    saved = set_policy(api, "block", 10)

    expected = {
        "mode": "block",
        "days": 10,
        "updatedBy": api.headers["X-VTEX-API-AppKey"],
        "updatedAt": wire_moment(frozen_clock.moment),
    }
    assert saved == expected
    assert api.get(POLICY).json() == expected
    # Only the fields sent change.
    assert api.put(POLICY, json={"days": 3}).json()["mode"] == "block"
    assert api.put(POLICY, json={"mode": "flag"}).json()["days"] == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mode": "strict", "days": 1}, "mode"),
        ({"mode": "", "days": 1}, "mode"),
        ({"mode": "block", "days": -1}, "days"),
        ({"mode": "block", "days": 3651}, "days"),
        ({"mode": "block", "days": 1.5}, "days"),
        ({"mode": "block", "days": "ten"}, "days"),
        ({"mode": 1}, "mode"),
    ],
)
def test_bad_policies_are_refused_and_change_nothing(api, body, field):
    set_policy(api, "flag", 4)

    assert field_of(api.put(POLICY, json=body)) == field

    assert api.get(POLICY).json()["mode"] == "flag" and api.get(POLICY).json()["days"] == 4


def test_an_unknown_field_of_the_policy_is_refused(api):
    assert api.put(POLICY, json={"mode": "block", "dayz": 3}).status_code == 400


def test_the_policy_needs_the_configuration_resources(store):
    reader = store.api(resources=(READ_CONFIGURATION,))
    assert reader.get(POLICY).status_code == 200
    assert reader.put(POLICY, json={"mode": "block"}).status_code == 403
    assert store.api(resources=(READ_ACCOUNTS,)).get(POLICY).status_code == 403


def test_each_store_has_its_own_policy(api, other_api):
    set_policy(api, "block", 2)
    assert other_api.get(POLICY).json()["mode"] == "off"


# --- block, flag and off on the API's holds ---------------------------------------------------


def test_block_refuses_a_new_hold_naming_the_days_and_holds_nothing(api, frozen_clock):
    account_id, due = indebted_account(api)
    set_policy(api, "block", 10)
    frozen_clock.set(due + timedelta(days=11))
    before = account(api, account_id)

    error = refused(hold(api, account_id, "10"))

    assert "11 days overdue" in error["message"] and "10 days" in error["message"]
    assert account(api, account_id) == before
    # The legacy singular path is the same operation.
    refused(
        api.post(f"/accounts/{account_id}/transaction", json={"value": 10, "settle": True, "installments": 1})
    )


def test_block_wins_over_insufficient_credit(api, frozen_clock):
    account_id, due = indebted_account(api, limit="100")
    set_policy(api, "block", 0)
    frozen_clock.set(due + timedelta(days=1))

    refused(hold(api, account_id, "5000"))


def test_an_account_without_overdue_invoices_is_not_blocked(api, frozen_clock):
    account_id, due = indebted_account(api)
    set_policy(api, "block", 0)
    frozen_clock.set(due - timedelta(days=1))  # not due yet
    assert hold(api, account_id, "10").status_code == 200
    # Paid: never overdue.
    frozen_clock.set(due + timedelta(days=40))
    (invoice,) = api.get(f"/accounts/{account_id}/invoices").json()["data"]
    assert api.post(f"/accounts/{account_id}/invoices/{invoice['id']}/payments").status_code == 200
    assert hold(api, account_id, "10").status_code == 200


def test_an_invoice_due_earlier_today_is_zero_days_overdue_and_not_blocked_at_zero(api, frozen_clock):
    account_id, due = indebted_account(api)
    set_policy(api, "block", 0)
    frozen_clock.set(due + timedelta(seconds=1))
    assert hold(api, account_id, "10").status_code == 200


@pytest.mark.parametrize(
    ("zone", "due_local", "now_local", "allowed"),
    [
        # Exactly 10 calendar days after the due date in São Paulo (UTC−3), whatever the hour.
        ("America/Sao_Paulo", "2027-03-01T15:00", "2027-03-11T23:59", True),
        ("America/Sao_Paulo", "2027-03-01T15:00", "2027-03-12T00:01", False),  # 11 days
        # 03:00 UTC on Mar 12 is still Mar 11 in São Paulo: 10 days there (11 in UTC).
        ("America/Sao_Paulo", "2027-03-01T23:00", "2027-03-11T23:30", True),
        ("Asia/Tokyo", "2027-03-01T08:00", "2027-03-11T23:59", True),
        ("Asia/Tokyo", "2027-03-01T08:00", "2027-03-12T00:30", False),  # 15:30 UTC on Mar 11
    ],
)
def test_exactly_n_days_overdue_is_allowed_and_n_plus_one_blocked_in_the_store_zone(
    api, store, database, frozen_clock, zone, due_local, now_local, allowed
):
    configure(api)
    account_id, _due = indebted_account(api)
    local = ZoneInfo(zone)
    with database.write() as session:
        session.get(StoreConfig, store.id).timezone = zone
        due_at = datetime.fromisoformat(due_local).replace(tzinfo=local)
        session.execute(
            update(Invoice).where(Invoice.store_id == store.id).values(due_at=due_at, original_due_at=due_at)
        )
    set_policy(api, "block", 10)
    frozen_clock.set(datetime.fromisoformat(now_local).replace(tzinfo=local))

    answer = hold(api, account_id, "10")

    if allowed:
        assert answer.status_code == 200, answer.text
        assert "overdueFlag" not in answer.json()
    else:
        assert "11 days overdue" in refused(answer)["message"]


def test_the_oldest_overdue_invoice_counts(api, store, database, frozen_clock):
    account_id, first_due = indebted_account(api)
    younger = purchase(api, account_id, "50")
    with database.write() as session:
        later = first_due + timedelta(days=25)
        session.execute(
            update(Invoice)
            .where(Invoice.store_id == store.id, Invoice.public_id.startswith(younger))
            .values(due_at=later, original_due_at=later)
        )
    set_policy(api, "flag", 3)
    frozen_clock.set(first_due + timedelta(days=27))  # the younger one is 2 days overdue

    assert hold(api, account_id, "10").json()["overdueFlag"] == {"daysOverdue": 27}


def test_flag_lets_the_hold_through_with_the_flag_in_the_answer_and_the_event(api, database, frozen_clock):
    account_id, due = indebted_account(api)
    set_policy(api, "flag", 5)
    frozen_clock.set(due + timedelta(days=6))

    answer = hold(api, account_id, "10")

    assert answer.status_code == 200, answer.text
    assert answer.json()["overdueFlag"] == {"daysOverdue": 6}
    assert dec(account(api, account_id)["preAuthorizedCredit"]) == dec(10)
    (authorized,) = [
        event
        for event in events_of(api, "transaction.authorized")
        if event["data"]["transaction"]["id"] == answer.json()["id"]
    ]
    assert authorized["data"]["changes"] == {"overdueFlag": {"daysOverdue": 6}}
    # Updating the live hold keeps its flag; a hold within the days is not flagged.
    updated = api.put(
        f"/accounts/{account_id}/transactions/{answer.json()['id']}",
        json={"value": 8, "settle": True, "installments": 1},
    )
    assert updated.json()["overdueFlag"] == {"daysOverdue": 6}
    frozen_clock.set(due + timedelta(days=5))
    unflagged = hold(api, account_id, "10")
    assert unflagged.status_code == 200 and "overdueFlag" not in unflagged.json()
    with database.read() as session:
        flags = dict(
            session.execute(
                select(Transaction.public_id, Transaction.overdue_flag_days).where(
                    Transaction.public_id.in_([answer.json()["id"], unflagged.json()["id"]])
                )
            ).all()
        )
    assert flags == {answer.json()["id"]: 6, unflagged.json()["id"]: None}
    unflagged_event = [
        event
        for event in events_of(api, "transaction.authorized")
        if event["data"]["transaction"]["id"] == unflagged.json()["id"]
    ]
    assert "changes" not in unflagged_event[0]["data"]


def test_off_ignores_overdue_invoices(api, frozen_clock):
    account_id, due = indebted_account(api)
    set_policy(api, "block", 1)
    set_policy(api, "off", 1)
    frozen_clock.set(due + timedelta(days=300))

    answer = hold(api, account_id, "10")

    assert answer.status_code == 200 and "overdueFlag" not in answer.json()


def test_changing_a_live_hold_is_never_blocked_but_a_new_hold_by_put_is(api, store, database):
    account_id = open_account(api, credit_limit="1000")["id"]
    held = hold(api, account_id, "10", settle=False).json()["id"]
    purchase(api, account_id, "100")
    # An invoice long overdue, whatever clock the caller uses.
    with database.write() as session:
        long_ago = datetime(2020, 1, 1, tzinfo=ZoneInfo("UTC"))
        session.execute(
            update(Invoice)
            .where(Invoice.store_id == store.id)
            .values(due_at=long_ago, original_due_at=long_ago)
        )
    set_policy(api, "block", 10)
    body = {"value": 5, "settle": False, "installments": 1}

    changed = api.put(f"/accounts/{account_id}/transactions/{held}", json=body)

    assert changed.status_code == 200, changed.text
    assert dec(changed.json()["value"]) == dec(5)
    refused(api.put(f"/accounts/{account_id}/transactions/NEWHOLD1", json=body))
    # Settling and cancelling a live hold are not new holds either.
    assert api.delete(f"/accounts/{account_id}/transactions/{held}").status_code == 200


# --- overrides --------------------------------------------------------------------------------


def test_an_override_lets_holds_through_until_its_moment_and_not_after(api, frozen_clock):
    account_id, due = indebted_account(api)
    set_policy(api, "block", 10)
    frozen_clock.set(due + timedelta(days=20))
    until = frozen_clock.moment + timedelta(days=2)

    response = api.put(current(account_id), json={"until": until.isoformat(), "reason": "pays on Friday"})

    assert response.status_code == 200, response.text
    assert response.json() == {
        "until": wire_moment(until),
        "reason": "pays on Friday",
        "status": "active",
        "setBy": api.headers["X-VTEX-API-AppKey"],
        "createdAt": wire_moment(frozen_clock.moment),
        "revokedBy": None,
        "revokedAt": None,
    }
    allowed = hold(api, account_id, "10")
    assert allowed.status_code == 200 and "overdueFlag" not in allowed.json()
    frozen_clock.set(until - timedelta(microseconds=1))
    assert hold(api, account_id, "10").status_code == 200
    frozen_clock.set(until)
    refused(hold(api, account_id, "10"))
    (lapsed,) = api.get(overrides(account_id)).json()["data"]
    assert lapsed["status"] == "lapsed" and lapsed["revokedAt"] is None


def test_an_override_suspends_the_flag_too(api, frozen_clock):
    account_id, due = indebted_account(api)
    set_policy(api, "flag", 0)
    frozen_clock.set(due + timedelta(days=3))
    until = frozen_clock.moment + timedelta(days=1)
    assert api.put(current(account_id), json={"until": until.isoformat()}).status_code == 200

    assert "overdueFlag" not in hold(api, account_id, "10").json()


def test_revoking_the_override_applies_the_policy_again(api, frozen_clock):
    account_id, due = indebted_account(api)
    set_policy(api, "block", 0)
    frozen_clock.set(due + timedelta(days=2))
    until = frozen_clock.moment + timedelta(days=30)
    assert api.put(current(account_id), json={"until": until.isoformat()}).status_code == 200
    assert hold(api, account_id, "10").status_code == 200
    frozen_clock.set(frozen_clock.moment + timedelta(hours=1))

    revoked = api.delete(current(account_id))

    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert revoked.json()["revokedBy"] == api.headers["X-VTEX-API-AppKey"]
    assert revoked.json()["revokedAt"] == wire_moment(frozen_clock.moment)
    refused(hold(api, account_id, "10"))
    nothing = api.delete(current(account_id))
    assert nothing.status_code == 404 and nothing.json()["error"]["code"] == "OverrideNotFound"


def test_the_history_keeps_who_set_replaced_and_revoked_each_override(store, api, frozen_clock):
    account_id, _due = indebted_account(api)
    operator = store.api(resources=(EDIT_CREDITS,))
    first_at = frozen_clock.moment
    first_until = first_at + timedelta(days=10)
    assert (
        api.put(current(account_id), json={"until": first_until.isoformat(), "reason": "one"}).status_code
        == 200
    )
    second_at = first_at + timedelta(days=1)
    frozen_clock.set(second_at)
    second_until = second_at + timedelta(days=5)
    assert operator.put(current(account_id), json={"until": second_until.isoformat()}).status_code == 200
    third_at = second_at + timedelta(hours=2)
    frozen_clock.set(third_at)
    assert api.delete(current(account_id)).status_code == 200

    history = api.get(overrides(account_id))

    assert history.status_code == 200, history.text
    main_key, operator_key = api.headers["X-VTEX-API-AppKey"], operator.headers["X-VTEX-API-AppKey"]
    assert history.json()["data"] == [
        {
            "until": wire_moment(second_until),
            "reason": None,
            "status": "revoked",
            "setBy": operator_key,
            "createdAt": wire_moment(second_at),
            "revokedBy": main_key,
            "revokedAt": wire_moment(third_at),
        },
        {
            "until": wire_moment(first_until),
            "reason": "one",
            "status": "revoked",
            "setBy": main_key,
            "createdAt": wire_moment(first_at),
            # Replaced: revoked by whoever set the next one, at that moment.
            "revokedBy": operator_key,
            "revokedAt": wire_moment(second_at),
        },
    ]
    # A viewer reads the history.
    assert store.api(resources=(READ_ACCOUNTS,)).get(overrides(account_id)).status_code == 200


def test_an_override_by_a_viewer_is_forbidden(store, api, frozen_clock):
    account_id, _due = indebted_account(api)
    viewer = store.api(resources=(READ_ACCOUNTS,))
    until = (frozen_clock.moment + timedelta(days=1)).isoformat()

    assert viewer.put(current(account_id), json={"until": until}).status_code == 403
    assert api.put(current(account_id), json={"until": until}).status_code == 200
    assert viewer.delete(current(account_id)).status_code == 403

    assert api.get(overrides(account_id)).json()["data"][0]["status"] == "active"


def test_overrides_are_per_store(api, other_api, frozen_clock):
    account_id, _due = indebted_account(api)
    until = (frozen_clock.moment + timedelta(days=1)).isoformat()
    assert other_api.put(current(account_id), json={"until": until}).status_code == 404
    assert other_api.get(overrides(account_id)).status_code == 404


@pytest.mark.parametrize(
    ("ahead", "field"),
    [
        (timedelta(0), "until"),
        (-timedelta(days=1), "until"),
        (timedelta(days=365, seconds=1), "until"),
    ],
)
def test_an_override_must_end_in_the_future_within_a_year(api, frozen_clock, ahead, field):
    account_id, _due = indebted_account(api)
    until = frozen_clock.moment + ahead

    assert field_of(api.put(current(account_id), json={"until": until.isoformat()})) == field
    assert api.get(overrides(account_id)).json()["data"] == []


def test_an_override_a_year_ahead_is_accepted(api, frozen_clock):
    account_id, _due = indebted_account(api)
    until = frozen_clock.moment + timedelta(days=365)
    assert api.put(current(account_id), json={"until": until.isoformat()}).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"until": "next friday"},
        {"until": "2027-13-01T00:00:00Z"},
        {"until": 1767225600},
        {},
        {"until": "2027-01-01T00:00:00Z", "reason": "x" * 501},
        {"until": "2027-01-01T00:00:00Z", "reason": "a\nb"},
        {"until": "2027-01-01T00:00:00Z", "note": "unknown field"},
    ],
)
def test_bad_override_bodies_are_refused(api, frozen_clock, body):
    account_id, _due = indebted_account(api)
    frozen_clock.set(datetime(2026, 12, 1, tzinfo=ZoneInfo("UTC")))

    assert api.put(current(account_id), json=body).status_code == 400
    assert api.get(overrides(account_id)).json()["data"] == []


def test_an_override_on_an_unknown_or_closed_account(api, frozen_clock):
    until = (frozen_clock.moment + timedelta(days=1)).isoformat()
    missing = api.put(current("nobody_CPF"), json={"until": until})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "AccountNotFound"
    assert api.get(overrides("nobody_CPF")).status_code == 404
    assert api.delete(current("nobody_CPF")).status_code == 404

    closed = open_account(api)["id"]
    assert api.delete(f"/accounts/{closed}").status_code == 200
    refused(api.put(current(closed), json={"until": until}), "AccountClosed")
    assert api.get(overrides(closed)).json() == {"data": []}


# --- events -----------------------------------------------------------------------------------


def test_every_change_is_an_event(api, frozen_clock):
    account_id, _due = indebted_account(api)
    set_policy(api, "block", 10)
    set_policy(api, "block", 10)  # no change: no event
    set_policy(api, "flag", 10)
    until = frozen_clock.moment + timedelta(days=3)
    api.put(current(account_id), json={"until": until.isoformat(), "reason": "ok"})
    api.put(current(account_id), json={"until": (until + timedelta(days=1)).isoformat()})
    api.delete(current(account_id))

    policy_events = events_of(api, "store.overdue_policy_changed")
    assert [event["data"]["changes"] for event in policy_events] == [
        {"mode": {"from": "off", "to": "block"}, "days": {"from": 0, "to": 10}},
        {"mode": {"from": "block", "to": "flag"}},
    ]
    assert policy_events[-1]["data"]["overduePolicy"]["mode"] == "flag"
    assert "account" not in policy_events[-1]["data"]
    set_events = events_of(api, "account.overdue_override_set")
    assert [event["data"]["account"]["id"] for event in set_events] == [account_id, account_id]
    assert set_events[0]["data"]["changes"]["overdueOverride"]["reason"] == "ok"
    assert "replaced" not in set_events[0]["data"]["changes"]
    assert set_events[1]["data"]["changes"]["replaced"]["status"] == "revoked"
    (revoked,) = events_of(api, "account.overdue_override_revoked")
    assert revoked["data"]["changes"]["overdueOverride"]["status"] == "revoked"


def test_a_refused_hold_writes_no_event(api, frozen_clock):
    account_id, due = indebted_account(api)
    set_policy(api, "block", 0)
    frozen_clock.set(due + timedelta(days=1))
    before = len(events_of(api, "transaction.authorized"))

    refused(hold(api, account_id, "10"))

    assert len(events_of(api, "transaction.authorized")) == before


# --- the checkout connector -------------------------------------------------------------------


def pay_as(store, opened: dict, value="10.00") -> dict:
    answer = gateway_for(store).pay(
        payment_body(value=value, document=opened["document"], email=opened["email"])
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def indebted_buyer(api, frozen_clock, *, limit="1000", days_overdue: int) -> dict:
    opened = open_account(api, credit_limit=limit)
    purchase(api, opened["id"], "100")
    (invoice,) = api.get(f"/accounts/{opened['id']}/invoices").json()["data"]
    frozen_clock.set(
        datetime.fromisoformat(invoice["dueDate"].replace("Z", "+00:00")) + timedelta(days=days_overdue)
    )
    return opened


def test_checkout_denies_a_blocked_purchase_with_the_code(store, api, frozen_clock):
    opened = indebted_buyer(api, frozen_clock, days_overdue=8)
    set_policy(api, "block", 7)

    answer = pay_as(store, opened)

    assert (answer["status"], answer["code"]) == ("denied", "OverdueInvoices"), answer
    assert answer["authorizationId"] is None and "8 days overdue" in answer["message"]
    assert dec(account(api, opened["id"])["preAuthorizedCredit"]) == dec(0)


def test_a_blocked_purchase_is_denied_not_reviewed_even_with_manual_review_on(store, api, frozen_clock):
    opened = indebted_buyer(api, frozen_clock, limit="150", days_overdue=8)
    assert api.put("/checkout/settings", json={"manualReviewEnabled": True}).status_code == 200
    set_policy(api, "block", 7)

    # Over the available credit (50.00) as well: still denied by the policy, not put in review.
    answer = pay_as(store, opened, value="500.00")

    assert (answer["status"], answer["code"]) == ("denied", "OverdueInvoices"), answer
    assert api.get("/checkout/payments/awaiting-approval").json()["data"] == []
    # Without overdue invoices the same purchase would wait for an operator.
    set_policy(api, "off", 7)
    assert pay_as(store, opened, value="500.00")["status"] == "undefined"


def test_checkout_approves_a_flagged_purchase_and_an_overridden_one(store, api, database, frozen_clock):
    opened = indebted_buyer(api, frozen_clock, days_overdue=8)
    set_policy(api, "flag", 7)

    flagged = pay_as(store, opened)

    assert flagged["status"] == "approved", flagged
    with database.read() as session:
        stored = session.scalar(
            select(Transaction).where(Transaction.public_id == flagged["authorizationId"])
        )
        assert stored is not None and stored.overdue_flag_days == 8
    set_policy(api, "block", 7)
    until = frozen_clock.moment + timedelta(days=1)
    assert api.put(current(opened["id"]), json={"until": until.isoformat()}).status_code == 200
    assert pay_as(store, opened)["status"] == "approved"


# --- the service layer ------------------------------------------------------------------------


def _account_row(session, store, public_id: str) -> Account:
    return session.scalars(
        select(Account).where(Account.store_id == store.id, Account.public_id == public_id)
    ).one()


def test_the_service_counts_days_and_checks_holds_at_the_callers_moment(api, store, database):
    account_id, due = indebted_account(api)
    principal = store.principal()
    with database.write() as session:
        row = _account_row(session, store, account_id)
        assert overdue_policy.get_settings(session, store.id).overdue_policy == "off"
        assert overdue_policy.oldest_overdue_days(session, row, due - timedelta(seconds=1)) is None
        assert overdue_policy.oldest_overdue_days(session, row, due + timedelta(seconds=1)) == 0
        assert overdue_policy.oldest_overdue_days(session, row, due + timedelta(days=4)) == 4
        assert overdue_policy.check_new_hold(session, principal, row, due + timedelta(days=400)) is None

        overdue_policy.save_settings(session, principal, "flag", 3, now=due)
        assert overdue_policy.check_new_hold(session, principal, row, due + timedelta(days=3)) is None
        assert overdue_policy.check_new_hold(session, principal, row, due + timedelta(days=4)) == 4

        overdue_policy.save_settings(session, principal, "block", None, now=due)
        with pytest.raises(Conflict) as blocked:
            overdue_policy.check_new_hold(session, principal, row, due + timedelta(days=4))
        assert blocked.value.code == "OverdueInvoices"

        at = due + timedelta(days=4)
        made = overdue_policy.set_override(
            session, principal, account_id, at + timedelta(hours=1), "x", now=at
        )
        assert overdue_policy.active_override(session, row, at) is made
        assert overdue_policy.check_new_hold(session, principal, row, at) is None
        assert overdue_policy.active_override(session, row, at + timedelta(hours=1)) is None
        with pytest.raises(Conflict):
            overdue_policy.check_new_hold(session, principal, row, at + timedelta(hours=1))


def test_the_service_refuses_bad_input_with_field_errors(api, store, database):
    account_id, due = indebted_account(api)
    principal = store.principal()
    with database.write() as session:
        for mode, days, field in (("nope", 1, "mode"), ("block", -1, "days"), ("block", 4000, "days")):
            with pytest.raises(InvalidInput) as refusal:
                overdue_policy.save_settings(session, principal, mode, days, now=due)
            assert refusal.value.details[0]["field"] == field
        with pytest.raises(InvalidInput):
            overdue_policy.set_override(
                session, principal, account_id, due.replace(tzinfo=None), None, now=due
            )
        with pytest.raises(InvalidInput):
            overdue_policy.set_override(session, principal, account_id, due, None, now=due)
        assert (
            session.scalars(select(OverdueOverride).where(OverdueOverride.store_id == store.id)).all() == []
        )
        assert overdue_policy.get_settings(session, store.id).overdue_policy == "off"
