"""Two API nodes, as docs/scaling.md deploys them: two `customer-credit serve` processes on one
PostgreSQL database and one Redis, each with its own port, its own connection pool, its own
key cache. The client alternates between them, as a load balancer would, and every shared part
must behave as on one node:

- the rate limit of a credential is one budget, wherever its requests land (Redis);
- the console's sign-in throttle counts attempts on both nodes together (the database);
- a revoked key is refused by every node within the key cache's 2 s (auth/service.py).

Real processes (slow); PostgreSQL only, the database of a deployment with several nodes."""

import ipaddress
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from customer_credit.auth.service import KEY_CACHE_TTL_S, revoke_key
from customer_credit.console.throttle import Policy
from customer_credit.stores.models import Store as StoreRow
from customer_credit.users import service as users
from loadgen.server import ServerProcess, open_database, provision
from tests.console.support import PASSWORD, csrf_of
from tests.scaling.conftest import delete_keys

pytestmark = [pytest.mark.slow, pytest.mark.postgresql_only]

PER_SECOND = 0.01  # one token back every 100 s: nothing refills while the test runs
BURST = 6
# Revocation must reach every node within the cache's time to live; the margin is for the
# polling step and one request's latency on a busy machine.
REVOCATION_DEADLINE_S = KEY_CACHE_TTL_S + 0.5
POLL_EVERY_S = 0.05
CHEAP_ARGON2 = {"time_cost": 1, "memory_kib": 1024}


def fresh_address() -> str:
    """A browser address of this test alone, so no other test shares its sign-in counters."""
    return str(ipaddress.IPv4Address(0x0A000000 + secrets.randbelow(2**24)))


@pytest.fixture(scope="module", autouse=True)
def cheap_password_hashes():
    """As in tests/console: the throttle is under test, not the password hash's cost."""
    users.configure_hasher(**CHEAP_ARGON2)
    yield
    users.configure_hasher()


@pytest.fixture(scope="module")
def nodes(postgresql_url, redis_url, tmp_path_factory):
    """Two server processes on the suite's PostgreSQL database, started side by side."""
    prefix = f"cc-test-nodes-{uuid.uuid4().hex}:"
    env = {
        "CUSTOMER_CREDIT_REDIS_URL": redis_url,
        "CUSTOMER_CREDIT_REDIS_KEY_PREFIX": prefix,
        "CUSTOMER_CREDIT_RATE_LIMIT_PER_SECOND": str(PER_SECOND),
        "CUSTOMER_CREDIT_RATE_LIMIT_BURST": str(BURST),
        "CUSTOMER_CREDIT_ARGON2_TIME_COST": str(CHEAP_ARGON2["time_cost"]),
        "CUSTOMER_CREDIT_ARGON2_MEMORY_KIB": str(CHEAP_ARGON2["memory_kib"]),
        "CUSTOMER_CREDIT_DB_POOL_SIZE": "5",
    }
    servers = [
        ServerProcess(postgresql_url, tmp_path_factory.mktemp(f"node-{name}"), env=env) for name in "ab"
    ]
    try:
        with ThreadPoolExecutor(len(servers)) as starting:
            list(starting.map(lambda server: server.start(), servers))
        yield servers
    finally:
        for server in servers:
            server.stop()
        delete_keys(redis_url, prefix)


@pytest.fixture
def client():
    with httpx.Client(timeout=10) as http:
        yield http


def test_the_nodes_are_two_processes(nodes):
    first, second = nodes
    assert first.process.pid != second.process.pid and first.port != second.port


def test_a_credential_has_one_budget_across_both_nodes(nodes, client, postgresql_url, tmp_path):
    headers = provision(postgresql_url, tmp_path).headers
    answers = [
        client.get(f"{nodes[turn % 2].base_url}/api/creditcontrol/storeconfig", headers=headers)
        for turn in range(BURST)
    ]
    assert [answer.status_code for answer in answers] == [200] * BURST, answers[-1].text
    for node in nodes:  # each node alone has seen only half the burst, and still refuses
        refused = client.get(f"{node.base_url}/api/creditcontrol/storeconfig", headers=headers)
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "RateLimited"
        assert int(refused.headers["Retry-After"]) >= 1
    # Another credential is untouched.
    other = provision(postgresql_url, tmp_path).headers
    assert client.get(f"{nodes[0].base_url}/api/creditcontrol/storeconfig", headers=other).status_code == 200


def _operator(postgresql_url, tmp_path) -> str:
    store = provision(postgresql_url, tmp_path)
    email = f"admin-{store.store_name}@example.com"
    database = open_database(postgresql_url, tmp_path)
    try:
        with database.write() as session:
            users.create_operator(session, session.get(StoreRow, store.store_id), email, "admin", PASSWORD)
    finally:
        database.dispose()
    return email


def test_failed_sign_ins_on_both_nodes_count_together(nodes, postgresql_url, tmp_path):
    """The browser's address comes from the load balancer (X-Forwarded-For, which uvicorn
    trusts from 127.0.0.1 by default, FORWARDED_ALLOW_IPS elsewhere: docs/scaling.md)."""
    email = _operator(postgresql_url, tmp_path)
    address = fresh_address()
    with httpx.Client(timeout=10, headers={"X-Forwarded-For": address}) as browser:
        form = browser.get(f"{nodes[0].base_url}/admin/sign-in")
        assert form.status_code == 200
        token = csrf_of(form.text)  # signed with the deployment's secret: good on either node

        def attempt(node: ServerProcess, password: str) -> httpx.Response:
            return browser.post(
                f"{node.base_url}/admin/sign-in",
                data={"email": email, "password": password, "csrf_token": token},
            )

        free = Policy().pair.free
        statuses = [attempt(nodes[turn % 2], f"wrong guess {turn}").status_code for turn in range(free)]
        assert statuses == [401] * free
        for node in nodes:  # neither node alone has seen `free` failures
            throttled = attempt(node, PASSWORD)  # even the right password waits
            assert throttled.status_code == 429, throttled.text
            assert int(throttled.headers["Retry-After"]) >= 1


def test_a_revoked_key_is_refused_by_every_node_within_the_cache_ttl(nodes, client, postgresql_url, tmp_path):
    credential = provision(postgresql_url, tmp_path)
    headers = credential.headers

    def status(node: ServerProcess) -> int:
        return client.get(f"{node.base_url}/api/creditcontrol/accounts/none_CPF", headers=headers).status_code

    # Each node has just authenticated the key, so each holds it in its cache.
    assert [status(node) for node in nodes] == [404, 404]
    database = open_database(postgresql_url, tmp_path)
    try:
        with database.write() as session:  # what `customer-credit keys revoke` does, in this process
            revoke_key(session, headers["X-VTEX-API-AppKey"])
    finally:
        database.dispose()
    revoked_at = time.monotonic()
    refused_after: dict[int, float] = {}
    # Real time, in this real-process test only: how long the nodes keep the key is the point.
    while len(refused_after) < len(nodes) and time.monotonic() - revoked_at < REVOCATION_DEADLINE_S + 1:
        for index, node in enumerate(nodes):
            # 404 (and 429, once the budget is spent): the node still takes the key from its cache.
            if index not in refused_after and status(node) == 401:
                refused_after[index] = time.monotonic() - revoked_at
        time.sleep(POLL_EVERY_S)
    assert sorted(refused_after) == [0, 1], f"still accepted after {REVOCATION_DEADLINE_S + 1} s"
    assert max(refused_after.values()) <= REVOCATION_DEADLINE_S, refused_after
    for node in nodes:  # and it stays refused
        assert status(node) == 401
