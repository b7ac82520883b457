"""Console sign-in throttling, on SQLite and PostgreSQL, through the sign-in form: attempts are
counted before the password is checked (so concurrency cannot outrun the limit), per
(e-mail, address) pair with a doubling wait, per address over every e-mail (spraying), per
e-mail over every address (skipped by an address that signed in before), in the database
(shared by every server process), on the app's clock (no test sleeps)."""

import ipaddress
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from customer_credit.app import create_app
from customer_credit.console.throttle import Backoff, Policy, address_of
from customer_credit.db.engine import Database
from customer_credit.users import service as users
from tests.clock import FIXED_START, FrozenClock
from tests.console.support import Console, csrf_of, make_operator

POLICY = Policy()


def fresh_address() -> str:
    """A client address of this test alone, so no two tests share a counter."""
    return str(ipaddress.IPv4Address(0x0A000000 + secrets.randbelow(2**24)))


class From(Console):
    """A browser at a given address."""

    def __init__(self, app, address: str):
        self.client = TestClient(
            app,
            base_url="http://testserver",
            raise_server_exceptions=False,
            follow_redirects=False,
            client=(address, 50000),
        )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(FIXED_START)


@pytest.fixture
def console_app(settings, database, clock):
    """An app of its own on the suite's database, with a frozen clock."""
    app = create_app(settings, database)
    app.state.clock = clock
    return app


def wrong(console: Console, email: str) -> int:
    return console.sign_in(email, "a wrong guess of a password").status_code


def test_concurrent_wrong_passwords_get_no_more_checks_than_the_limit(console_app, store, monkeypatch):
    email = make_operator(store)
    checks = []
    real_verify = users._verify

    def counting_verify(password_hash: str, password: str) -> bool:
        checks.append(password)  # list.append is atomic
        return real_verify(password_hash, password)

    monkeypatch.setattr(users, "_verify", counting_verify)
    attacker = From(console_app, fresh_address())
    token = csrf_of(attacker.get("/admin/sign-in").text)
    start = threading.Barrier(60)

    def attempt(number: int) -> int:
        start.wait()
        return attacker.client.post(
            "/admin/sign-in", data={"email": email, "password": f"guess number {number}", "csrf_token": token}
        ).status_code

    with ThreadPoolExecutor(max_workers=60) as pool:
        statuses = list(pool.map(attempt, range(60)))
    assert len(checks) == POLICY.pair.free
    assert sorted(statuses) == [401] * POLICY.pair.free + [429] * (60 - POLICY.pair.free)


def test_the_operator_signs_in_from_elsewhere_while_the_attackers_address_waits(console_app, store):
    email = make_operator(store)
    attacker = From(console_app, fresh_address())
    assert [wrong(attacker, email) for _ in range(8)] == [401] * 5 + [429] * 3
    assert attacker.sign_in(email).status_code == 429  # even the right password waits there
    assert From(console_app, fresh_address()).sign_in(email).status_code == 303


def test_a_throttled_sign_in_is_an_html_page_with_retry_after(console_app, store):
    email = make_operator(store)
    attacker = From(console_app, fresh_address())
    for _ in range(5):
        wrong(attacker, email)
    refused = attacker.sign_in(email, "another guess")
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("text/html")
    assert refused.headers["retry-after"] == "60"
    assert "Too many failed sign-ins; try again in 60 seconds." in refused.text
    assert 'name="csrf_token"' in refused.text  # the form is still there, for later


def test_the_wait_doubles_with_each_further_failure(console_app, store, clock):
    email = make_operator(store)
    attacker = From(console_app, fresh_address())
    assert [wrong(attacker, email) for _ in range(5)] == [401] * 5
    waits = []
    for _ in range(4):
        refused = attacker.sign_in(email, "a guess")
        assert refused.status_code == 429
        wait = int(refused.headers["retry-after"])
        waits.append(wait)
        clock.set(clock() + timedelta(seconds=wait - 1))
        assert wrong(attacker, email) == 429  # not yet
        clock.set(clock() + timedelta(seconds=1))
        assert wrong(attacker, email) == 401  # checked again, and wrong again
    assert waits == [60, 120, 240, 480]


def test_a_clock_set_back_never_makes_a_sign_in_wait_longer_than_its_backoff(console_app, store, clock):
    email = make_operator(store)
    before_the_limit = From(console_app, fresh_address())
    assert [wrong(before_the_limit, email) for _ in range(4)] == [401] * 4
    throttled = From(console_app, fresh_address())
    assert [wrong(throttled, email) for _ in range(5)] == [401] * 5
    assert throttled.sign_in(email, "a guess").headers["retry-after"] == "60"
    clock.set(clock() - timedelta(days=1))  # the last failures are now a day in the future
    assert wrong(before_the_limit, email) == 401  # still checked: no backoff is due yet
    refused = throttled.sign_in(email, "a guess")
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "60")


def test_a_success_clears_the_pair(console_app, store):
    email = make_operator(store)
    address = fresh_address()
    browser = From(console_app, address)
    assert [wrong(browser, email) for _ in range(4)] == [401] * 4
    assert From(console_app, address).sign_in(email).status_code == 303
    assert [wrong(browser, email) for _ in range(6)] == [401] * 5 + [429]


def test_counters_forget_after_a_quiet_day(console_app, store, clock):
    email = make_operator(store)
    attacker = From(console_app, fresh_address())
    assert [wrong(attacker, email) for _ in range(6)] == [401] * 5 + [429]
    clock.set(clock() + POLICY.forget_after)
    assert [wrong(attacker, email) for _ in range(6)] == [401] * 5 + [429]
    assert attacker.sign_in(email, "a guess").headers["retry-after"] == "60"  # from the start again


def test_one_password_sprayed_over_many_emails_from_one_address_is_throttled(console_app, store):
    emails = [make_operator(store) for _ in range(POLICY.ip.free + 2)]
    sprayer = From(console_app, fresh_address())
    statuses = [sprayer.sign_in(email, "Summer2024!Summer").status_code for email in emails]
    assert statuses == [401] * POLICY.ip.free + [429] * 2
    assert sprayer.sign_in("someone-new@example.com", "Summer2024!Summer").status_code == 429
    assert From(console_app, fresh_address()).sign_in(emails[-1]).status_code == 303


def test_a_guess_spread_over_many_addresses_cannot_lock_out_a_known_address(console_app, store):
    email = make_operator(store)
    office = fresh_address()
    assert From(console_app, office).sign_in(email).status_code == 303
    spread = [wrong(From(console_app, fresh_address()), email) for _ in range(POLICY.email.free)]
    assert spread == [401] * POLICY.email.free
    newcomer = From(console_app, fresh_address())
    assert wrong(newcomer, email) == 429  # the e-mail now makes unknown addresses wait
    assert newcomer.sign_in(email).status_code == 429
    assert From(console_app, office).sign_in(email).status_code == 303  # but not the office


def test_the_counters_are_shared_by_every_server_process(settings, store, clock):
    databases = [Database(settings), Database(settings)]
    try:
        first, second = (create_app(settings, database) for database in databases)
        for app in (first, second):
            app.state.clock = clock
        email = make_operator(store)
        address = fresh_address()
        alternating = [wrong(From(app, address), email) for app in (first, second, first, second, first)]
        assert alternating == [401] * 5
        assert From(second, address).sign_in(email).status_code == 429
        assert From(first, address).sign_in(email).status_code == 429
    finally:
        for database in databases:
            database.dispose()


def test_backoff_doubles_up_to_its_ceiling():
    backoff = Backoff(free=5, first_wait=timedelta(minutes=1), longest_wait=timedelta(hours=1))
    assert backoff.wait_after(4) == timedelta(0)
    assert [backoff.wait_after(n) for n in (5, 6, 7)] == [timedelta(minutes=m) for m in (1, 2, 4)]
    assert backoff.wait_after(11) == timedelta(hours=1)  # 64 minutes, cut to the ceiling
    assert backoff.wait_after(10_000) == timedelta(hours=1)


def test_an_ipv6_client_is_counted_by_its_64_block():
    assert address_of("2001:db8:1:2:aaaa::1") == address_of("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert address_of("2001:db8:1:3::1") != address_of("2001:db8:1:2::1")
    assert address_of("::ffff:192.0.2.7") == "192.0.2.7"
    assert address_of("192.0.2.7") == "192.0.2.7"
    assert address_of(None) == "unknown"


def test_a_success_deletes_counters_left_untouched_for_a_day(database, clock):
    from sqlalchemy import func, select

    from customer_credit.console.throttle import SignInThrottle
    from customer_credit.users.models import SignInCounter

    throttle = SignInThrottle()
    attacker, operator = fresh_address(), fresh_address()
    left_behind = f"nobody-{secrets.token_hex(4)}@example.com"

    def rows_of(address: str) -> int:
        with database.read() as session:
            return session.scalar(
                select(func.count()).select_from(SignInCounter).where(SignInCounter.ip == address)
            )

    with database.write() as session:
        throttle.reserve(session, left_behind, attacker, clock())
    with database.write() as session:
        throttle.reserve(session, "operator@example.com", operator, clock())
        throttle.succeeded(session, "operator@example.com", operator, clock())
    assert rows_of(attacker) == 2  # its pair and its address
    later = clock() + POLICY.forget_after + timedelta(seconds=1)
    with database.write() as session:
        throttle.reserve(session, "operator@example.com", operator, later)
        throttle.succeeded(session, "operator@example.com", operator, later)
    assert rows_of(attacker) == 0
    assert rows_of(operator) == 2  # touched just now
