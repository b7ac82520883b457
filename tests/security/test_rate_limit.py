"""Rate limiting per credential: a credential over its budget gets 429 with Retry-After in the
error shape; other credentials, of the same store or another, are not affected; the refused
request changes nothing; the credential recovers once the bucket refills."""

from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from customer_credit.app import create_app
from customer_credit.auth import service as auth_service
from customer_credit.auth.resources import MAIN_ACCESS
from customer_credit.stores.models import Store as StoreRow
from tests.conftest import Api, Store, make_settings
from tests.contract import is_error_shape
from tests.helpers import open_account

PER_SECOND = 4
BURST = 3


class Seconds:
    """The limiter's clock, standing still unless a test moves it: how long the requests
    themselves take on a busy machine must not refill a bucket."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def seconds() -> Seconds:
    return Seconds()


@pytest.fixture
def limited(database_url, database, tmp_path, seconds):
    settings = make_settings(database_url, tmp_path, rate_limit_per_second=PER_SECOND, rate_limit_burst=BURST)
    app = create_app(settings, database)
    app.state.rate_limiter.clock = seconds
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, settings


def _rebind(api: Api, client) -> Api:
    """The same credential, sent to the rate-limited app."""
    return Api(client, api.headers, api.store)


def _user_token(database, settings, store: Store, email: str) -> dict:
    with database.read() as session:
        row = session.get(StoreRow, store.id)
        token = auth_service.issue_user_token(
            settings.resolved_secret_key(), row, email, [MAIN_ACCESS], timedelta(hours=1)
        )
    return {"VtexIdclientAutCookie": token}


def _exhaust(api: Api) -> None:
    for _ in range(BURST):
        assert api.get("/storeconfig").status_code == 200


def test_a_credential_over_its_budget_gets_429_with_retry_after(limited, store, database, seconds):
    client, _settings = limited
    first = _rebind(store.api(), client)
    same_store = _rebind(store.api(), client)
    other_store = _rebind(Store(database, store.http).api(), client)

    _exhaust(first)
    refused = first.get("/storeconfig")
    assert refused.status_code == 429
    assert is_error_shape(refused)
    assert refused.json()["error"]["code"] == "RateLimited"
    retry_after = refused.headers.get("Retry-After")
    assert retry_after is not None and retry_after.isdigit() and int(retry_after) >= 1
    assert refused.headers.get("X-Request-Id")

    # Other credentials are not affected: another key of the same store, a key of another store.
    for api in (same_store, other_store):
        for _ in range(BURST):
            assert api.get("/storeconfig").status_code == 200
    # The limited one is still refused, on every operation, reads and writes alike.
    assert first.get("/accounts").status_code == 429
    assert (
        first.post(
            "/accounts", json={"document": "1", "documentType": "CPF", "email": "x@example.com"}
        ).status_code
        == 429
    )

    # The bucket refills at PER_SECOND tokens a second: after Retry-After, it answers again.
    assert int(retry_after) <= 1  # one token comes back within 1 / PER_SECOND seconds
    seconds.now += 1 / PER_SECOND - 0.01
    assert first.get("/storeconfig").status_code == 429
    seconds.now += 0.02
    assert first.get("/storeconfig").status_code == 200


def test_a_rate_limited_write_changes_nothing(limited, store):
    client, _settings = limited
    api = _rebind(store.api(), client)
    account = open_account(store.api(), credit_limit="100")  # through the unlimited app
    _exhaust(api)
    refused = api.put(f"/accounts/{account['id']}/creditlimit", json={"value": 900})
    assert refused.status_code == 429
    after = store.api().get(f"/accounts/{account['id']}").json()
    assert after["creditLimit"] == 100
    statements = store.api().get(f"/accounts/{account['id']}/statements").json()["statements"]
    assert statements == []


def test_user_tokens_are_limited_per_user_and_store(limited, store, database):
    """Two users of one store have separate budgets, and so do users with the same e-mail in two
    stores (the e-mail alone does not name a credential)."""
    client, settings = limited
    other_store = Store(database, store.http)
    alice = Api(client, _user_token(database, settings, store, "alice@example.com"), store)
    bob = Api(client, _user_token(database, settings, store, "bob@example.com"), store)
    alice_elsewhere = Api(
        client, _user_token(database, settings, other_store, "alice@example.com"), other_store
    )

    _exhaust(alice)
    assert alice.get("/storeconfig").status_code == 429
    for api in (bob, alice_elsewhere):
        for _ in range(BURST):
            response = api.get("/storeconfig")
            assert response.status_code == 200, response.text


def test_rate_limiting_is_off_by_default(store):
    api = store.api()
    statuses = {api.get("/storeconfig").status_code for _ in range(BURST * 4)}
    assert statuses == {200}
