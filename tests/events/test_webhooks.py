"""Webhooks against a real HTTP receiver: every change arrives once, signed (Standard
Webhooks), in order per account, carrying exactly the ledger entries the change wrote; a
failing receiver gets retries with backoff for up to 3 days while later events of the
account wait; a dispatcher killed mid-delivery loses nothing."""

import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from customer_credit.events import dispatcher
from customer_credit.events.models import WebhookDelivery, WebhookEndpoint
from customer_credit.events.signing import InvalidSignature, verify
from customer_credit.jobs.registry import default_jobs
from customer_credit.jobs.worker import Worker
from tests.contract import is_error_shape
from tests.events.support import run_worker
from tests.helpers import account, configure, dec, hold, open_account, purchase

# One second before midnight at a year's end: retries and backoff run across the day, month and
# year boundary. The app's clock (the events' moments) and the worker's clock both start here.
START = datetime(2031, 12, 31, 23, 59, 59, tzinfo=UTC)


@pytest.fixture
def at_start(frozen_clock):
    """The app's clock frozen at START (the worker's is passed to run_worker)."""
    frozen_clock.set(START)
    return frozen_clock


@pytest.fixture
def endpoint(api, receiver):
    """An endpoint on the test's receiver, deleted afterwards so later tests' workers skip it."""
    created = api.post("/webhooks", json={"url": receiver.url})
    assert created.status_code == 200, created.text
    yield created.json()
    api.delete(f"/webhooks/{created.json()['id']}")


def ok(response):
    assert response.status_code == 200, response.text
    return response


def invoices_of(api, account_id) -> list[dict]:
    return ok(api.get(f"/accounts/{account_id}/invoices")).json()["data"]


def per_account(events: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for event in events:
        grouped.setdefault(event["data"]["account"]["id"], []).append(event)
    return grouped


def test_every_change_arrives_signed_in_order_with_its_ledger_entries(
    api, database, receiver, endpoint, at_start
):
    configure(
        api,
        postponementEnabled=True,
        invoicePostponementLimit=2,
        maxPostponementDays=30,
        toleranceEnabled=True,
    )
    a = open_account(api, credit_limit="1000")["id"]
    b = open_account(api, credit_limit="500")["id"]
    expected = {a: ["account.opened"], b: ["account.opened"]}

    ok(api.put(f"/accounts/{a}/creditlimit", json={"value": "1500"}))
    expected[a].append("account.credit_limit_changed")
    ok(api.put(f"/accounts/{a}/tolerance", json={"value": "0.1"}))
    expected[a].append("account.changed")
    ok(api.post(f"/accounts/{a}/holders", json={"claims": {"email": f"buyer-{a}@example.com"}}))
    expected[a].append("account.changed")

    held = ok(hold(api, a, "300", installments=3)).json()["id"]
    expected[a].append("transaction.authorized")
    purchase(api, b, "50")
    expected[b] += ["transaction.authorized", "transaction.settled", "invoice.created"]
    ok(api.put(f"/accounts/{a}/transactions/{held}/settlement", json={"value": "300"}))
    expected[a] += ["transaction.settled"] + ["invoice.created"] * 3

    first, second, third = (invoice["id"] for invoice in invoices_of(api, a))
    ok(api.post(f"/accounts/{a}/invoices/{first}/payments"))
    expected[a].append("invoice.paid")
    ok(api.post(f"/accounts/{a}/invoices/{second}/payments", json={"value": "40"}))
    expected[a].append("invoice.changed")
    ok(api.put(f"/accounts/{a}/invoices/{second}/postponement", json={"dueDays": 5}))
    expected[a].append("invoice.postponed")
    ok(api.put(f"/accounts/{a}/invoices/{third}", json={"status": "Opened", "observation": "call first"}))
    expected[a].append("invoice.changed")
    ok(api.post(f"/accounts/{a}/transactions/{held}/refunds", json={"value": "50"}))
    expected[a] += ["invoice.changed", "transaction.refunded"]
    ok(api.put(f"/accounts/{a}/statements/debit-1", json={"value": "10"}))
    expected[a].append("account.changed")
    ok(api.delete(f"/accounts/{a}/invoices/{third}"))
    expected[a].append("invoice.cancelled")
    cancelled = ok(hold(api, a, "20", settle=False)).json()["id"]
    ok(api.delete(f"/accounts/{a}/transactions/{cancelled}"))
    expected[a] += ["transaction.authorized", "transaction.cancelled"]
    # Refusals and no-ops change nothing, so they have no event.
    assert api.post(f"/accounts/{a}/invoices/{first}/payments").status_code == 200
    assert hold(api, b, "100000").status_code == 409

    run_worker(database, START)
    got = receiver.accepted()
    ids = [item["headers"]["webhook-id"] for item in got]
    assert len(ids) == len(set(ids)) == sum(len(types) for types in expected.values())
    for item in got:
        verify(endpoint["secret"], item["headers"], item["body"])
        assert item["event"]["id"] == item["headers"]["webhook-id"]
        tampered = item["body"].replace(b'"data"', b'"date"', 1)
        with pytest.raises(InvalidSignature):
            verify(endpoint["secret"], item["headers"], tampered)

    events = per_account([item["event"] for item in got])
    assert {key: [event["type"] for event in found] for key, found in events.items()} == expected

    for account_id in (a, b):
        statements = ok(api.get(f"/accounts/{account_id}/statements")).json()["statements"]
        from_events = [entry for event in events[account_id] for entry in event["data"]["ledgerEntries"]]
        normalized = json.loads(json.dumps(statements), parse_float=Decimal)
        assert from_events == normalized
        now = account(api, account_id)
        last = events[account_id][-1]["data"]["account"]
        for field in ("balance", "creditLimit", "availableCredit", "preAuthorizedCredit", "tolerance"):
            assert dec(last[field]) == dec(now[field]), field

    # Each event says what the change was.
    limit_event = events[a][1]["data"]
    assert limit_event["changes"]["creditLimit"] == {"from": Decimal("1000.00"), "to": Decimal("1500.00")}
    assert [entry["origin"] for entry in limit_event["ledgerEntries"]] == ["Credit"]
    postponed = next(event for event in events[a] if event["type"] == "invoice.postponed")["data"]
    assert postponed["invoice"]["id"] == second and postponed["invoice"]["postponements"] == 1
    assert postponed["invoice"]["dueDate"] == postponed["changes"]["dueDate"]["to"]

    # Pulling reads the same events in the same order.
    pulled, cursor = [], "0"
    while True:
        page = json.loads(ok(api.get(f"/events?after={cursor}&limit=7")).content, parse_float=Decimal)
        pulled += page["data"]
        cursor = page["cursor"]
        if not page["hasMore"]:
            break
    assert per_account([e for e in pulled if e["data"]["account"]["id"] in (a, b)]) == events
    assert ok(api.get(f"/events?after={cursor}")).json()["data"] == []


def delivery_rows(database, endpoint_public_id: str) -> list[SimpleNamespace]:
    """The endpoint's deliveries in event order, as plain copies of their columns."""
    with database.read() as session:
        endpoint_pk = session.scalar(
            select(WebhookEndpoint.id).where(WebhookEndpoint.public_id == endpoint_public_id)
        )
        rows = session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_pk)
            .order_by(WebhookDelivery.seq)
        )
        columns = WebhookDelivery.__table__.columns.keys()
        return [SimpleNamespace(**{name: getattr(row, name) for name in columns}) for row in rows]


def test_a_failing_receiver_gets_retries_while_later_events_of_the_account_wait(
    api, database, receiver, endpoint, at_start
):
    account_id = open_account(api, credit_limit="100")["id"]
    ok(api.put(f"/accounts/{account_id}/creditlimit", json={"value": "200"}))
    receiver.fail_all = True
    run_worker(database, START)
    assert [item["status"] for item in receiver.requests] == [500]
    first_id = receiver.requests[0]["headers"]["webhook-id"]

    run_worker(database, START + timedelta(seconds=3))  # before the 5 s backoff
    assert len(receiver.requests) == 1
    run_worker(database, START + timedelta(seconds=6))
    assert [item["status"] for item in receiver.requests] == [500, 500]
    assert {item["headers"]["webhook-id"] for item in receiver.requests} == {first_id}

    receiver.fail_all = False
    run_worker(database, START + timedelta(seconds=6 + 11))  # the second backoff is 10 s
    got = [(item["event"]["type"], item["headers"]["webhook-id"]) for item in receiver.accepted()]
    assert got[0] == ("account.opened", first_id)
    assert [kind for kind, _ in got] == ["account.opened", "account.credit_limit_changed"]

    log = ok(api.get(f"/webhooks/{endpoint['id']}/deliveries")).json()["data"]
    by_type = {entry["eventType"]: entry for entry in log}
    assert by_type["account.opened"]["attempts"] == 3
    assert by_type["account.opened"]["status"] == "delivered"
    assert by_type["account.opened"]["lastStatusCode"] == 200
    assert by_type["account.credit_limit_changed"]["attempts"] == 1
    listed = ok(api.get("/webhooks")).json()["data"]
    assert next(item for item in listed if item["id"] == endpoint["id"])["deliveries"] == {"delivered": 2}


def test_a_receiver_failing_for_3_days_is_given_up_and_the_next_event_goes_out(
    api, database, receiver, endpoint, at_start
):
    account_id = open_account(api, credit_limit="100")["id"]
    ok(api.put(f"/accounts/{account_id}/creditlimit", json={"value": "300"}))
    receiver.fail_all = True
    moment = START
    for _ in range(60):
        run_worker(database, moment, names=("events-sequence", "webhooks-fanout", "webhooks-deliver"))
        rows = delivery_rows(database, endpoint["id"])
        if rows[0].status != "pending":
            break
        assert (rows[1].status, rows[1].attempts) == ("queued", 0)  # waits behind the first
        moment = rows[0].next_attempt_at
    first, second = delivery_rows(database, endpoint["id"])
    assert first.status == "failed"
    assert first.last_status_code == 500 and first.last_error is None  # the body is not kept
    assert moment - START <= timedelta(days=3)
    assert moment - START > timedelta(days=2)  # it kept trying for most of the 3 days
    assert 15 <= first.attempts <= 40
    first_id = receiver.requests[0]["headers"]["webhook-id"]
    assert sum(item["headers"]["webhook-id"] == first_id for item in receiver.requests) == first.attempts
    # Once the first is given up, the second goes out (it failed too: the receiver is down).
    assert second.attempts == 1 and second.status == "pending"
    receiver.fail_all = False
    run_worker(database, second.next_attempt_at)
    assert [item["event"]["type"] for item in receiver.accepted()] == ["account.credit_limit_changed"]
    assert delivery_rows(database, endpoint["id"])[1].status == "delivered"


def test_a_dispatcher_killed_between_claim_and_post_loses_nothing(
    api, database, receiver, endpoint, monkeypatch, at_start
):
    account_id = open_account(api, credit_limit="100")["id"]
    ok(api.put(f"/accounts/{account_id}/creditlimit", json={"value": "200"}))

    def killed(*_args, **_kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(dispatcher, "post", killed)
    run_worker(database, START)  # the job fails after its claim committed
    assert receiver.requests == []
    assert [row.status for row in delivery_rows(database, endpoint["id"])] == ["delivering", "queued"]
    monkeypatch.undo()

    run_worker(database, START + timedelta(seconds=10))  # the claim's lease still runs
    assert receiver.requests == []
    run_worker(database, START + timedelta(minutes=2))  # lease over: taken again
    assert [item["event"]["type"] for item in receiver.accepted()] == [
        "account.opened",
        "account.credit_limit_changed",
    ]


def test_a_dispatcher_killed_after_sending_sends_again_with_the_same_id(
    api, database, receiver, endpoint, monkeypatch, at_start
):
    account_id = open_account(api, credit_limit="100")["id"]
    ok(api.put(f"/accounts/{account_id}/creditlimit", json={"value": "200"}))
    real_mark = dispatcher.mark_all
    calls = []

    def dies_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("worker killed before recording the outcome")
        return real_mark(*args, **kwargs)

    monkeypatch.setattr(dispatcher, "mark_all", dies_once)
    run_worker(database, START)
    assert len(receiver.accepted()) == 1
    run_worker(database, START + timedelta(minutes=2))
    got = receiver.accepted()
    assert [item["event"]["type"] for item in got] == [
        "account.opened",
        "account.opened",
        "account.credit_limit_changed",
    ]
    # At least once: the repeat carries the same webhook-id and the same bytes.
    assert got[0]["headers"]["webhook-id"] == got[1]["headers"]["webhook-id"]
    assert got[0]["body"] == got[1]["body"]
    assert [row.status for row in delivery_rows(database, endpoint["id"])] == ["delivered", "delivered"]


def test_two_dispatchers_at_once_deliver_each_event_once_in_order(
    api, database, receiver, endpoint, at_start
):
    accounts = [open_account(api, credit_limit="1000")["id"] for _ in range(4)]
    for step in range(3):
        for account_id in accounts:
            ok(api.put(f"/accounts/{account_id}/creditlimit", json={"value": str(1100 + step)}))
    run_worker(database, START, names=("events-sequence", "webhooks-fanout"))
    jobs = [job for job in default_jobs(1.0) if job.name == "webhooks-deliver"]
    workers = [Worker(database, jobs=jobs, clock=lambda: START) for _ in range(2)]
    threads = [threading.Thread(target=worker.run_once) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    got = receiver.accepted()
    ids = [item["headers"]["webhook-id"] for item in got]
    assert len(ids) == len(set(ids)) == 16
    for found in per_account([item["event"] for item in got]).values():
        limits = [event["data"]["account"]["creditLimit"] for event in found]
        assert limits == [Decimal("1000.00"), Decimal("1100.00"), Decimal("1101.00"), Decimal("1102.00")]


def test_an_endpoint_gets_only_the_event_types_it_asked_for(api, database, receiver, at_start):
    created = ok(api.post("/webhooks", json={"url": receiver.url, "eventTypes": ["invoice.paid"]})).json()
    try:
        account_id = open_account(api, credit_limit="100")["id"]
        purchase(api, account_id, "30", installments=2)
        first = invoices_of(api, account_id)[0]["id"]
        ok(api.post(f"/accounts/{account_id}/invoices/{first}/payments"))
        run_worker(database, START)
        got = receiver.accepted()
        assert [item["event"]["type"] for item in got] == ["invoice.paid"]
        assert got[0]["event"]["data"]["invoice"]["id"] == first
        assert got[0]["event"]["data"]["ledgerEntries"][0]["value"] == Decimal("15.00")
    finally:
        api.delete(f"/webhooks/{created['id']}")


def test_endpoints_are_managed_per_store_with_configuration_rights(api, other_api, store, receiver):
    editor = store.api(resources=["Edit Configuration"])
    reader = store.api(resources=["Read Configuration"])
    refused = reader.post("/webhooks", json={"url": receiver.url})
    assert refused.status_code == 403 and is_error_shape(refused)
    created = ok(editor.post("/webhooks", json={"url": receiver.url, "description": "ERP"})).json()
    assert created["secret"].startswith("whsec_") and created["eventTypes"] == []
    listed = ok(reader.get("/webhooks")).json()["data"]
    assert [item["id"] for item in listed] == [created["id"]]
    assert "secret" not in listed[0]
    assert ok(other_api.get("/webhooks")).json()["data"] == []
    assert other_api.delete(f"/webhooks/{created['id']}").status_code == 404
    assert reader.delete(f"/webhooks/{created['id']}").status_code == 403

    for body, field in (
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": receiver.url, "eventTypes": ["invoice.exploded"]}, "eventTypes"),
    ):
        bad = editor.post("/webhooks", json=body)
        assert bad.status_code == 400, bad.text
        assert is_error_shape(bad) and field in bad.text

    ok(editor.delete(f"/webhooks/{created['id']}"))
    assert ok(reader.get("/webhooks")).json()["data"] == []
    assert editor.delete(f"/webhooks/{created['id']}").status_code == 404


def test_a_deleted_endpoint_gets_nothing_more(api, database, receiver, at_start):
    created = ok(api.post("/webhooks", json={"url": receiver.url})).json()
    open_account(api, credit_limit="100")
    run_worker(database, START, names=("events-sequence", "webhooks-fanout"))
    ok(api.delete(f"/webhooks/{created['id']}"))
    open_account(api, credit_limit="100")
    run_worker(database, START)
    assert receiver.requests == []
    assert [row.status for row in delivery_rows(database, created["id"])] == ["cancelled"]
