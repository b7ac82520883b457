"""Webhooks in the console, on SQLite and PostgreSQL: endpoints made and deleted through
events.webhooks (checked through the service afterwards), the signing secret shown exactly
once, the delivery log with its statuses, and retry/resend making a delivery due again."""

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from customer_credit.events import dispatcher, webhooks
from customer_credit.events.models import DELIVERED, FAILED, PENDING, WebhookDelivery
from customer_credit.events.outbox import sequence_pending
from tests.console.support import signed_in
from tests.helpers import open_account

RECEIVER = "https://93.184.215.14/hooks/credit"  # a public address literal: no DNS lookup
NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)


def endpoints_of(database, store) -> list:
    with database.read() as session:
        found = webhooks.list_endpoints(session, store.id)
        session.expunge_all()
    return found


def create(console, url: str = RECEIVER, **extra):
    return console.post("/admin/webhooks", {"url": url, "description": "ERP", **extra})


def deliveries_of(database, store, endpoint_id: str) -> dict[str, WebhookDelivery]:
    with database.read() as session:
        endpoint = webhooks.get_endpoint(session, store.id, endpoint_id)
        rows = webhooks.deliveries(session, endpoint, status=None, limit=100)
        session.expunge_all()
    return {event_id: delivery for delivery, event_id, _type in rows}


def fan_out(database) -> None:
    """What the worker's sequencer and fan-out jobs do, without sending anything."""
    with database.write() as session:
        while sequence_pending(session):
            pass
        while webhooks.fanout(session, NOW):
            pass


def set_delivery(database, store, endpoint_id: str, event_id: str, **values) -> None:
    delivery = deliveries_of(database, store, endpoint_id)[event_id]
    with database.write() as session:
        session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery.id).values(**values))


def test_an_endpoint_is_created_with_its_secret_shown_once_and_deleted(app, store, database, frozen_clock):
    frozen_clock.set(NOW)
    console = signed_in(app, store)

    created = create(console, eventTypes=["invoice.paid", "account.opened"])
    assert created.status_code == 303 and created.headers["location"] == "/admin/webhooks", created.text
    [endpoint] = endpoints_of(database, store)
    assert endpoint.url == RECEIVER and set(endpoint.event_types) == {"invoice.paid", "account.opened"}
    assert endpoint.secret not in created.text + created.headers.get("set-cookie", "")
    shown = console.get("/admin/webhooks")
    assert shown.text.count(endpoint.secret) == 1
    assert "data-secret-shown" in shown.text

    listed = console.get("/admin/webhooks")  # a reload: not shown again, no second endpoint
    assert listed.status_code == 200
    assert len(endpoints_of(database, store)) == 1
    assert endpoint.public_id in listed.text and RECEIVER in listed.text
    assert endpoint.secret not in listed.text and "data-secret-shown" not in listed.text
    assert endpoint.secret not in console.get(f"/admin/webhooks/{endpoint.public_id}").text

    deleted = console.post(f"/admin/webhooks/{endpoint.public_id}/delete")
    assert deleted.status_code == 303 and deleted.headers["location"] == "/admin/webhooks"
    assert endpoints_of(database, store) == []
    after = console.get("/admin/webhooks").text
    assert f"Webhook endpoint {endpoint.public_id} deleted." in after
    assert f'data-endpoint="{endpoint.public_id}"' not in after


def test_a_url_that_is_not_http_is_one_error_by_its_field(app, store, database, frozen_clock):
    frozen_clock.set(NOW)
    console = signed_in(app, store)

    refused = create(console, url="ftp://files.example.com/in")
    assert refused.status_code == 400
    assert refused.text.count('class="field-error"') == 1
    assert re.search(r'class="field-error"[^>]*>URL: must be an absolute http or https URL<', refused.text)
    assert 'value="ftp://files.example.com/in"' in refused.text  # what was typed stays
    assert endpoints_of(database, store) == []

    unknown = create(console, eventTypes=["invoice.exploded"])
    assert unknown.status_code == 400 and unknown.text.count('class="field-error"') == 1
    assert "Events: unknown event types: invoice.exploded" in unknown.text
    assert endpoints_of(database, store) == []


def test_the_delivery_log_and_retry_and_resend(app, store, api, database, frozen_clock):
    frozen_clock.set(NOW)
    console = signed_in(app, store)
    assert create(console).status_code == 303
    [endpoint] = endpoints_of(database, store)
    open_account(api)
    open_account(api)
    fan_out(database)
    failed_id, delivered_id = sorted(deliveries_of(database, store, endpoint.public_id))
    set_delivery(
        database,
        store,
        endpoint.public_id,
        failed_id,
        status=FAILED,
        attempts=7,
        last_error="timeout",
        first_attempt_at=NOW - timedelta(days=3),
        next_attempt_at=NOW - timedelta(hours=1),
    )
    set_delivery(
        database, store, endpoint.public_id, delivered_id, status=DELIVERED, attempts=1, last_status_code=204
    )

    base = f"/admin/webhooks/{endpoint.public_id}"
    log = console.get(base)
    assert log.status_code == 200
    assert re.search(rf'data-delivery="{failed_id}" data-status="failed"', log.text)
    assert re.search(rf'data-delivery="{delivered_id}" data-status="delivered"', log.text)
    assert ">timeout<" in log.text and ">204<" in log.text
    only_failed = console.get(base, params={"status": "failed"}).text
    assert failed_id in only_failed and delivered_id not in only_failed
    assert f"{base}/deliveries/{failed_id}/retry" in only_failed

    # Resending needs a delivered one: the service's refusal is shown, nothing changes.
    wrong = console.post(f"{base}/deliveries/{failed_id}/resend")
    assert wrong.status_code == 409 and "only a delivered delivery can be resent" in wrong.text
    assert deliveries_of(database, store, endpoint.public_id)[failed_id].status == FAILED

    retried = console.post(f"{base}/deliveries/{failed_id}/retry", {"status": "failed"})
    assert retried.status_code == 303 and retried.headers["location"] == f"{base}?status=failed"
    again = deliveries_of(database, store, endpoint.public_id)[failed_id]
    # Due again at once, its attempts and retry window from zero.
    assert (again.status, again.attempts, again.first_attempt_at) == (PENDING, 0, None)
    assert again.next_attempt_at == NOW
    claimed = dispatcher.claim(database, NOW, database.settings, limit=10_000)
    assert [item.attempt for item in claimed if item.delivery_id == again.id] == [1]  # the worker takes it
    set_delivery(database, store, endpoint.public_id, failed_id, status=DELIVERED)

    resent = console.post(f"{base}/deliveries/{delivered_id}/resend")
    assert resent.status_code == 303
    assert "will be sent again (pending)" in console.get(base).text
    assert deliveries_of(database, store, endpoint.public_id)[delivered_id].status == PENDING
    assert console.post(f"{base}/deliveries/{delivered_id}/resend").status_code == 409  # once is enough


def test_another_stores_endpoint_is_not_found(app, store, database, http, frozen_clock):
    from tests.conftest import Store

    frozen_clock.set(NOW)
    other = Store(database, http)
    assert create(signed_in(app, other)).status_code == 303
    [theirs] = endpoints_of(database, other)
    console = signed_in(app, store)
    assert console.get(f"/admin/webhooks/{theirs.public_id}").status_code == 404
    assert console.post(f"/admin/webhooks/{theirs.public_id}/delete").status_code == 404
    assert endpoints_of(database, other) != []


def test_a_viewer_reads_but_changes_nothing(app, store, api, database, frozen_clock):
    frozen_clock.set(NOW)
    assert create(signed_in(app, store)).status_code == 303
    [endpoint] = endpoints_of(database, store)
    open_account(api)
    fan_out(database)
    [event_id] = deliveries_of(database, store, endpoint.public_id)
    set_delivery(database, store, endpoint.public_id, event_id, status=FAILED, attempts=3)
    viewer = signed_in(app, store, "viewer")

    page = viewer.get("/admin/webhooks")
    assert page.status_code == 200 and endpoint.public_id in page.text
    assert "Your role (viewer) can read but not change anything." in page.text
    assert re.search(
        r'<button type="submit" class="secondary" disabled aria-describedby="read-only-note">', page.text
    )
    assert "<fieldset disabled" in page.text
    log = viewer.get(f"/admin/webhooks/{endpoint.public_id}").text
    assert 'disabled aria-describedby="read-only-note">Retry<' in log

    for path in (
        "/admin/webhooks",
        f"/admin/webhooks/{endpoint.public_id}/delete",
        f"/admin/webhooks/{endpoint.public_id}/deliveries/{event_id}/retry",
    ):
        refused = viewer.post(path, {"url": RECEIVER})
        assert refused.status_code == 403, path
        assert "can read but not change anything" in refused.text
    assert [found.public_id for found in endpoints_of(database, store)] == [endpoint.public_id]
    with database.read() as session:
        status = session.scalar(
            select(WebhookDelivery.status).where(WebhookDelivery.endpoint_id == endpoint.id)
        )
    assert status == FAILED


def test_the_cli_sends_again_through_the_same_rules(
    app, store, api, database, settings, monkeypatch, frozen_clock
):
    from typer.testing import CliRunner

    from customer_credit import cli, logs
    from customer_credit.settings import get_settings

    frozen_clock.set(NOW)
    assert create(signed_in(app, store)).status_code == 303
    [endpoint] = endpoints_of(database, store)
    open_account(api)
    fan_out(database)
    [event_id] = deliveries_of(database, store, endpoint.public_id)
    set_delivery(database, store, endpoint.public_id, event_id, status=DELIVERED, attempts=1)
    monkeypatch.setenv("CUSTOMER_CREDIT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CUSTOMER_CREDIT_LOG_LEVEL", "WARNING")
    monkeypatch.setattr(logs, "configure", lambda level: None)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        refused = runner.invoke(
            cli.app, ["webhooks", "retry", endpoint.public_id, event_id, "--store", store.name]
        )
        assert refused.exit_code != 0 and "only a failed delivery can be retried" in refused.output
        resent = runner.invoke(
            cli.app, ["webhooks", "resend", endpoint.public_id, event_id, "--store", store.name]
        )
        assert resent.exit_code == 0, resent.output
        assert f"{event_id} to {endpoint.public_id}: pending" in resent.output
    finally:
        get_settings.cache_clear()
    assert deliveries_of(database, store, endpoint.public_id)[event_id].status == PENDING
