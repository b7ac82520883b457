"""API keys in the console, on SQLite and PostgreSQL: a key made in the console signs in to the
API, its token is shown exactly once, a revoked key is refused by the API at once, another
store's key cannot be revoked, and a viewer changes nothing."""

import re
from datetime import UTC, datetime

from customer_credit.auth import service as keys
from customer_credit.auth.resources import MAIN_ACCESS, READ_ACCOUNTS
from customer_credit.stores.models import Store as StoreRow
from tests.console.support import signed_in

NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)


def keys_of(database, store) -> dict:
    with database.read() as session:
        found = {key.app_key: key for key in keys.list_keys(session, session.get(StoreRow, store.id))}
        session.expunge_all()
    return found


def issued_from(html: str) -> tuple[str, str]:
    app_key = re.search(r'id="issued-key"[^>]*value="([^"]+)"', html).group(1)
    app_token = re.search(r'id="issued-token"[^>]*value="([^"]+)"', html).group(1)
    return app_key, app_token


def accounts_with(http, app_key: str, app_token: str):
    return http.get(
        "/api/creditcontrol/accounts",
        headers={"X-VTEX-API-AppKey": app_key, "X-VTEX-API-AppToken": app_token},
    )


def test_a_key_is_made_shown_once_used_and_revoked(app, store, database, http, frozen_clock):
    frozen_clock.set(NOW)
    console = signed_in(app, store)
    before = set(keys_of(database, store))

    created = console.post("/admin/api-keys", {"label": "ERP sync", "resources": [READ_ACCOUNTS]})
    assert created.status_code == 303 and created.headers["location"] == "/admin/api-keys", created.text
    shown = console.get("/admin/api-keys")  # post/redirect/get: the token is on the page it lands on
    app_key, app_token = issued_from(shown.text)
    assert shown.text.count(app_token) == 1 and f"API key {app_key} created." in shown.text
    assert app_token not in created.text and app_token not in created.headers.get("set-cookie", "")
    [new] = set(keys_of(database, store)) - before
    stored = keys_of(database, store)[new]
    assert new == app_key and stored.label == "ERP sync" and stored.resources == [READ_ACCOUNTS]
    assert stored.token_sha256 == keys.hash_token(app_token)
    assert accounts_with(http, app_key, app_token).status_code == 200

    listed = console.get("/admin/api-keys").text  # a reload: shown once, not again
    assert re.search(rf'data-key="{app_key}" data-state="active"', listed)
    assert app_token not in listed and "data-secret-shown" not in listed
    assert set(keys_of(database, store)) - before == {app_key}  # the reload made no second key
    assert "ERP sync" in listed and READ_ACCOUNTS in listed

    revoked = console.post(f"/admin/api-keys/{app_key}/revoke")
    assert revoked.status_code == 303 and revoked.headers["location"] == "/admin/api-keys"
    assert keys_of(database, store)[app_key].revoked_at is not None
    assert accounts_with(http, app_key, app_token).status_code == 401
    after = console.get("/admin/api-keys").text
    assert f"API key {app_key} revoked." in after
    assert re.search(rf'data-key="{app_key}" data-state="revoked"', after)
    assert f"/admin/api-keys/{app_key}/revoke" not in after


def test_bad_input_is_one_error_by_its_field(app, store, database, frozen_clock):
    frozen_clock.set(NOW)
    console = signed_in(app, store)
    before = set(keys_of(database, store))

    none_ticked = console.post("/admin/api-keys", {"label": "nothing"})
    assert none_ticked.status_code == 400
    assert none_ticked.text.count('class="field-error"') == 1
    assert "Resources: tick at least one" in none_ticked.text
    assert 'value="nothing"' in none_ticked.text

    unknown = console.post("/admin/api-keys", {"resources": ["Root"]})
    assert unknown.status_code == 400 and unknown.text.count('class="field-error"') == 1
    assert "Resources: unknown resources [&#39;Root&#39;]" in unknown.text

    long_label = console.post("/admin/api-keys", {"label": "x" * 201, "resources": [MAIN_ACCESS]})
    assert long_label.status_code == 400
    assert "Label: must be at most 200 characters" in long_label.text
    assert set(keys_of(database, store)) == before


def test_another_stores_key_cannot_be_revoked(app, store, database, frozen_clock):
    from tests.conftest import Store

    frozen_clock.set(NOW)
    other = Store(database, store.http)
    theirs = other.api().headers["X-VTEX-API-AppKey"]
    console = signed_in(app, store)
    assert theirs not in console.get("/admin/api-keys").text
    refused = console.post(f"/admin/api-keys/{theirs}/revoke")
    assert refused.status_code == 404
    assert keys_of(database, other)[theirs].revoked_at is None


def test_a_viewer_sees_the_keys_but_changes_nothing(app, store, api, database, frozen_clock):
    frozen_clock.set(NOW)
    app_key = api.headers["X-VTEX-API-AppKey"]
    viewer = signed_in(app, store, "viewer")

    page = viewer.get("/admin/api-keys")
    assert page.status_code == 200 and app_key in page.text
    assert "Your role (viewer) can read but not change anything." in page.text
    assert 'disabled aria-describedby="read-only-note">Revoke<' in page.text
    assert "<fieldset disabled" in page.text

    before = set(keys_of(database, store))
    made = viewer.post("/admin/api-keys", {"resources": [MAIN_ACCESS]})
    assert made.status_code == 403 and "can read but not change anything" in made.text
    assert "issued-token" not in made.text
    assert set(keys_of(database, store)) == before
    revoke = viewer.post(f"/admin/api-keys/{app_key}/revoke")
    assert revoke.status_code == 403
    assert keys_of(database, store)[app_key].revoked_at is None
    assert api.get("/accounts").status_code == 200
