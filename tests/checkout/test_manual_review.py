"""Manual review: with the store's manualReviewEnabled, a purchase over the available credit
answers `undefined` and waits for an operator, who approves it (once, or by raising the limit) or
denies it; if nobody decides within the review window the job denies it. Each decision is POSTed
to the payment's callbackUrl (a real HTTP receiver on loopback here) with the store's callback
credentials, and retried with backoff while the receiver fails.

The jobs run across every store, so this module has its own database (tests/events/support.py's
fixtures, with a settings that lets the callbacks reach 127.0.0.1), and each test's callbacks go
to a path of its own on one receiver."""

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from customer_credit.auth.resources import EDIT_CREDITS, READ_ACCOUNTS
from customer_credit.checkout import callbacks
from customer_credit.checkout.models import CheckoutPayment
from customer_credit.events.transport import Outcome
from tests.checkout.support import (
    assert_books_balance,
    gateway_for,
    holds_of_payment,
    new_id,
    payment_body,
    ppp_errors,
)
from tests.conftest import make_settings
from tests.events.support import (  # noqa: F401 - fixtures: this module's own database and app
    app,
    database,
    database_url,
    free_port,
    http,
    run_worker,
)
from tests.helpers import account, dec, open_account

APP_KEY = "vtexappkey-mystore-CALLBACK"
APP_TOKEN = "callback-token-" + "t" * 40
JOBS = ("checkout-reviews-expire", "checkout-callbacks")
REVIEW_WINDOW_S = 3600


@pytest.fixture(scope="package")
def settings(database_url, tmp_path_factory):  # noqa: F811 - this module's isolated database
    return make_settings(
        database_url,
        tmp_path_factory.mktemp("checkout-review-data"),
        webhook_timeout_s=5,
        # The receiver listens on loopback, which outgoing hooks reach only when allowed.
        webhook_allowed_hosts="127.0.0.1",
    )


# --- a callback receiver on loopback ----------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class CallbackReceiver:
    """Records every request (method, path with query, headers, JSON body); `failing[path] = n`
    answers 500 to the next n requests on that path."""

    def __init__(self):
        self.requests: list[dict] = []
        self.failing: dict[str, int] = {}
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", free_port()), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        host, port = self.server.server_address[:2]
        # A query string as VTEX's callbackUrl carries one: it must arrive as given.
        return f"http://{host}:{port}/vtex/callback/{name}?X-VTEX-signature=sig-{name}&an=other%20one"

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                path = urlsplit(self.path).path
                with receiver.lock:
                    failing = receiver.failing.get(path, 0) > 0
                    if failing:
                        receiver.failing[path] -= 1
                    status = 500 if failing else 200
                    receiver.requests.append(
                        {
                            "method": self.command,
                            "target": self.path,
                            "headers": {name.lower(): value for name, value in self.headers.items()},
                            "body": json.loads(body, parse_float=Decimal),
                            "status": status,
                        }
                    )
                answer = b'{"error":"down"}' if failing else b"{}"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_args):
                pass

        return Handler

    def to(self, name: str) -> list[dict]:
        with self.lock:
            return [
                item for item in self.requests if urlsplit(item["target"]).path == f"/vtex/callback/{name}"
            ]

    def fail(self, name: str, times: int) -> None:
        with self.lock:
            self.failing[f"/vtex/callback/{name}"] = times


@pytest.fixture(scope="module")
def receiver() -> Iterator[CallbackReceiver]:
    running = CallbackReceiver()
    running.thread.start()
    yield running
    running.server.shutdown()
    running.server.server_close()


# --- a store with manual review -----------------------------------------------------------------


def ok(response):
    assert response.status_code == 200, response.text
    return response.json()


def refused(response, status: int) -> str:
    """The code of a management API refusal (its error shape), after checking its status."""
    assert response.status_code == status, response.text
    return response.json()["error"]["code"]


class Review:
    """A store with manual review on, a buyer's account of 100, and a purchase of 150 that is
    waiting for an operator (its callbacks go to the receiver under `name`)."""

    def __init__(self, api, store, receiver, db, *, value="150"):
        self.api = api
        self.receiver = receiver
        self.database = db
        ok(
            api.put(
                "/checkout/settings",
                json={
                    "manualReviewEnabled": True,
                    "reviewWindowSeconds": REVIEW_WINDOW_S,
                    "callbackAppKey": APP_KEY,
                    "callbackAppToken": APP_TOKEN,
                },
            )
        )
        self.account = open_account(api, credit_limit="100")
        self.account_id = self.account["id"]
        self.gateway = gateway_for(store)
        self.name = uuid.uuid4().hex
        self.body = payment_body(
            value=value,
            installments=2,
            document=self.account["document"],
            email=self.account["email"],
            callback_url=receiver.url(self.name),
        )
        self.payment_id = self.body["paymentId"]
        self.first = self.pay()
        assert (self.first["status"], self.first["code"]) == ("undefined", "AwaitingApproval"), self.first

    def pay(self) -> dict:
        """POST /payments with the same body: VTEX's retry."""
        answer = ok(self.gateway.pay(self.body))
        assert not ppp_errors("POST", "/payments", 200, answer), ppp_errors("POST", "/payments", 200, answer)
        return answer

    def shown(self) -> dict:
        return ok(self.api.get(f"/checkout/payments/{self.payment_id}"))

    def awaiting(self) -> list[str]:
        return [p["paymentId"] for p in ok(self.api.get("/checkout/payments/awaiting-approval"))["data"]]

    def approve(self, api=None, **body):
        return (api or self.api).post(f"/checkout/payments/{self.payment_id}/approval", json=body)

    def deny(self, api=None, **body):
        return (api or self.api).post(f"/checkout/payments/{self.payment_id}/denial", json=body)

    def callbacks(self) -> list[dict]:
        return self.receiver.to(self.name)

    def figures(self) -> tuple[Decimal, Decimal, Decimal]:
        """(balance, preAuthorizedCredit, availableCredit)."""
        shown = account(self.api, self.account_id)
        return dec(shown["balance"]), dec(shown["preAuthorizedCredit"]), dec(shown["availableCredit"])


@pytest.fixture
def review(api, store, receiver, database, frozen_clock) -> Review:  # noqa: F811 - this module's database
    return Review(api, store, receiver, database)


def assert_callback(item: dict, review: Review, status: str) -> dict:
    """One callback as VTEX expects it: a POST to the callbackUrl exactly as given, with the
    store's callback credentials and the payment's final answer."""
    assert item["method"] == "POST"
    given = urlsplit(review.body["callbackUrl"])
    assert item["target"] == f"{given.path}?{given.query}"
    assert item["headers"]["x-vtex-api-appkey"] == APP_KEY
    assert item["headers"]["x-vtex-api-apptoken"] == APP_TOKEN
    assert item["headers"]["content-type"].startswith("application/json")
    body = item["body"]
    assert (body["paymentId"], body["status"], body["tid"]) == (
        review.payment_id,
        status,
        review.first["tid"],
    )
    assert not ppp_errors("POST", "/payments", 200, json.loads(json.dumps(body, default=str)))
    return body


# --- the queue ----------------------------------------------------------------------------------


def test_a_purchase_over_the_credit_waits_in_the_queue_and_a_retry_still_waits(review, frozen_clock):
    assert review.first["authorizationId"] is None
    assert review.first["delayToCancel"] == REVIEW_WINDOW_S
    assert review.payment_id in review.awaiting()
    shown = review.shown()
    assert (shown["status"], dec(shown["value"]), shown["accountId"]) == (
        "undefined",
        dec("150"),
        review.account_id,
    )
    assert shown["callback"]["state"] == "none"

    assert review.pay() == review.first
    run_worker(review.database, frozen_clock.moment, names=JOBS)

    assert review.pay() == review.first
    assert review.callbacks() == []
    assert review.figures() == (0, 0, dec("100"))
    assert holds_of_payment(review.database, review.gateway.store, review.payment_id) == 0


def test_settings_show_the_callback_key_but_never_its_token(review):
    settings = ok(review.api.get("/checkout/settings"))
    assert settings["manualReviewEnabled"] is True
    assert settings["callbackAppKey"] == APP_KEY
    assert settings["callbackAppTokenSet"] is True
    assert APP_TOKEN not in json.dumps(settings)


# --- (a) approve once -------------------------------------------------------------------------


def test_approving_once_holds_beyond_the_credit_and_calls_vtex_back(review, frozen_clock):
    approved = ok(review.approve())

    assert approved["status"] == "approved"
    assert approved["decidedBy"] and approved["decidedAt"]
    answer = review.pay()
    assert (answer["status"], answer["tid"], answer["code"]) == ("approved", review.first["tid"], "Approved")
    assert answer["authorizationId"]
    assert answer["delayToCancel"] == 30 * 86400
    assert review.payment_id not in review.awaiting()
    # Approved as it is, beyond the 100 available.
    assert review.figures() == (0, dec("150"), dec("-50"))
    assert holds_of_payment(review.database, review.gateway.store, review.payment_id) == 1

    run_worker(review.database, frozen_clock.moment, names=JOBS)

    [callback] = review.callbacks()
    body = assert_callback(callback, review, "approved")
    assert body["authorizationId"] == answer["authorizationId"]
    assert json.loads(json.dumps(body, default=str)) == json.loads(json.dumps(answer))
    assert review.shown()["callback"] == {
        "state": "delivered",
        "attempts": 1,
        "lastStatusCode": 200,
        "lastError": None,
    }
    run_worker(review.database, frozen_clock.moment + timedelta(hours=1), names=JOBS)
    assert len(review.callbacks()) == 1

    # The approved hold is a hold like any other: VTEX settles it into invoices.
    settled = ok(review.gateway.settle(review.payment_id, "150"))
    assert dec(settled["value"]) == dec("150")
    assert review.figures() == (dec("-150"), 0, dec("-50"))
    assert_books_balance(review.database, review.gateway.store)


# --- (b) approve by raising the limit ---------------------------------------------------------


def test_approving_with_a_new_limit_writes_a_credit_entry_and_the_hold_fits(review, frozen_clock):
    too_little = review.approve(creditLimit="120")

    assert refused(too_little, 409) == "InsufficientCredit"
    assert review.shown()["status"] == "undefined"
    assert review.pay() == review.first
    assert dec(account(review.api, review.account_id)["creditLimit"]) == dec("100")
    assert ok(review.api.get(f"/accounts/{review.account_id}/statements"))["statements"] == []

    approved = ok(review.approve(creditLimit="200"))

    assert approved["status"] == "approved"
    assert dec(account(review.api, review.account_id)["creditLimit"]) == dec("200")
    statements = ok(review.api.get(f"/accounts/{review.account_id}/statements"))["statements"]
    assert [(entry["origin"], dec(entry["value"])) for entry in statements] == [("Credit", dec("100"))]
    assert review.figures() == (0, dec("150"), dec("50"))
    assert review.pay()["status"] == "approved"
    run_worker(review.database, frozen_clock.moment, names=JOBS)
    [callback] = review.callbacks()
    assert_callback(callback, review, "approved")
    assert_books_balance(review.database, review.gateway.store)


# --- (c) deny ---------------------------------------------------------------------------------


def test_denying_answers_denied_and_calls_vtex_back(review, frozen_clock):
    denied = ok(review.deny(reason="no guarantee"))

    assert (denied["status"], denied["code"], denied["message"]) == (
        "denied",
        "DeniedByOperator",
        "no guarantee",
    )
    answer = review.pay()
    assert (answer["status"], answer["code"], answer["authorizationId"]) == (
        "denied",
        "DeniedByOperator",
        None,
    )
    assert review.payment_id not in review.awaiting()
    run_worker(review.database, frozen_clock.moment, names=JOBS)

    [callback] = review.callbacks()
    body = assert_callback(callback, review, "denied")
    assert (body["code"], body["authorizationId"]) == ("DeniedByOperator", None)
    assert review.figures() == (0, 0, dec("100"))
    assert holds_of_payment(review.database, review.gateway.store, review.payment_id) == 0
    assert refused(review.approve(), 409) == "PaymentAlreadyDecided"


# --- (d) nobody decides -----------------------------------------------------------------------


def test_an_undecided_purchase_is_denied_at_the_end_of_the_review_window(review, frozen_clock):
    started = frozen_clock.moment
    deadline = started + timedelta(seconds=REVIEW_WINDOW_S)
    assert review.shown()["reviewDeadline"] is not None

    run_worker(review.database, deadline - timedelta(seconds=1), names=JOBS)
    assert review.shown()["status"] == "undefined"
    assert review.callbacks() == []

    # Past the deadline an operator is too late, even before the job has run.
    frozen_clock.set(deadline + timedelta(seconds=1))
    assert refused(review.approve(), 409) == "ReviewExpired"
    assert review.figures() == (0, 0, dec("100"))

    run_worker(review.database, deadline + timedelta(seconds=1), names=JOBS)

    shown = review.shown()
    assert (shown["status"], shown["code"], shown["decidedBy"]) == ("denied", "ReviewExpired", "system")
    answer = review.pay()
    assert (answer["status"], answer["code"]) == ("denied", "ReviewExpired")
    [callback] = review.callbacks()
    assert assert_callback(callback, review, "denied")["code"] == "ReviewExpired"
    assert refused(review.approve(), 409) == "PaymentAlreadyDecided"
    assert review.payment_id not in review.awaiting()
    assert holds_of_payment(review.database, review.gateway.store, review.payment_id) == 0


# --- (e) the receiver fails -------------------------------------------------------------------


def test_a_failing_receiver_gets_the_callback_again_with_backoff(review, settings, frozen_clock):
    review.receiver.fail(review.name, times=2)
    decided = frozen_clock.moment
    ok(review.deny())
    base = timedelta(seconds=settings.webhook_retry_base_s)

    run_worker(review.database, decided, names=JOBS)
    assert [item["status"] for item in review.callbacks()] == [500]
    assert review.shown()["callback"] == {
        "state": "pending",
        "attempts": 1,
        "lastStatusCode": 500,
        "lastError": None,
    }

    # Not before the backoff is over: base after the first failure, twice that after the second.
    run_worker(review.database, decided + base - timedelta(seconds=1), names=JOBS)
    assert len(review.callbacks()) == 1
    run_worker(review.database, decided + base, names=JOBS)
    assert [item["status"] for item in review.callbacks()] == [500, 500]
    assert review.shown()["callback"]["attempts"] == 2
    second = decided + base
    run_worker(review.database, second + 2 * base - timedelta(seconds=1), names=JOBS)
    assert len(review.callbacks()) == 2
    run_worker(review.database, second + 2 * base, names=JOBS)

    calls = review.callbacks()
    assert [item["status"] for item in calls] == [500, 500, 200]
    assert len({json.dumps(item["body"], default=str) for item in calls}) == 1
    for item in calls:
        assert_callback(item, review, "denied")
    assert review.shown()["callback"] == {
        "state": "delivered",
        "attempts": 3,
        "lastStatusCode": 200,
        "lastError": None,
    }
    run_worker(review.database, second + 10 * base, names=JOBS)
    assert len(review.callbacks()) == 3


# --- (f) who may decide, and deciding twice ----------------------------------------------------


def test_a_key_that_only_reads_accounts_sees_the_queue_but_cannot_decide(review, store):
    reader = store.api(resources=(READ_ACCOUNTS,))

    assert review.payment_id in [
        p["paymentId"] for p in ok(reader.get("/checkout/payments/awaiting-approval"))["data"]
    ]
    for attempt in (review.approve(reader), review.approve(reader, creditLimit="500"), review.deny(reader)):
        assert refused(attempt, 403) == "Forbidden"
    assert review.shown()["status"] == "undefined"
    assert review.figures() == (0, 0, dec("100"))

    editor = store.api(resources=(EDIT_CREDITS,))
    assert ok(review.approve(editor))["status"] == "approved"


def test_a_decision_is_taken_once(review, frozen_clock):
    ok(review.approve())

    assert refused(review.approve(), 409) == "PaymentAlreadyDecided"
    assert refused(review.deny(), 409) == "PaymentAlreadyDecided"
    assert review.figures() == (0, dec("150"), dec("-50"))
    assert holds_of_payment(review.database, review.gateway.store, review.payment_id) == 1
    run_worker(review.database, frozen_clock.moment, names=JOBS)
    assert [item["body"]["status"] for item in review.callbacks()] == ["approved"]


def test_vtex_cancelling_a_purchase_under_review_denies_it_without_a_callback(review, frozen_clock):
    request_id = new_id()
    cancelled = ok(review.gateway.cancel(review.payment_id, request_id=request_id))

    assert cancelled["cancellationId"] and cancelled["requestId"] == request_id
    assert ok(review.gateway.cancel(review.payment_id, request_id=request_id)) == cancelled
    shown = review.shown()
    assert (shown["status"], shown["callback"]["state"]) == ("denied", "none")
    assert review.pay()["status"] == "denied"
    assert review.payment_id not in review.awaiting()
    assert refused(review.approve(), 409) == "PaymentAlreadyDecided"
    run_worker(review.database, frozen_clock.moment + timedelta(seconds=REVIEW_WINDOW_S + 1), names=JOBS)
    assert review.callbacks() == []
    assert review.figures() == (0, 0, dec("100"))


def test_a_claimed_batch_is_posted_once_and_a_late_outcome_never_overwrites_a_takeover(
    api,
    store,
    receiver,
    database,  # noqa: F811 - this module's database
    frozen_clock,
):
    """Worker A claims a batch of callbacks and POSTs them one after the other: worker B may not
    claim them while A could still be on its way through the batch; only if A's lease runs out
    (A died) does B take them, and A's late outcome then leaves B's record alone."""
    reviews = [Review(api, store, receiver, database) for _ in range(3)]
    for review in reviews:
        ok(review.approve())
    with database.read() as session:
        ours = set(
            session.scalars(
                select(CheckoutPayment.id).where(
                    CheckoutPayment.payment_id.in_([review.payment_id for review in reviews])
                )
            )
        )
    start = frozen_clock.moment
    claimed_by_a = [due for due in callbacks._claim(database, start) if due.payment_pk in ours]
    assert {due.payment_pk for due in claimed_by_a} == ours
    lease = claimed_by_a[0].leased_until - start
    assert lease >= callbacks.lease_for(database.settings, len(ours))

    # Later than a lease for two POSTs, while A may still be POSTing the batch: B finds nothing.
    two_posts = timedelta(seconds=database.settings.webhook_timeout_s * 2 + 31)
    assert not [due for due in callbacks._claim(database, start + two_posts) if due.payment_pk in ours]

    # A dies: after its lease, B takes the callbacks over and one of its POSTs fails.
    after_lease = start + lease + timedelta(seconds=1)
    claimed_by_b = [due for due in callbacks._claim(database, after_lease) if due.payment_pk in ours]
    assert {due.payment_pk for due in claimed_by_b} == ours
    failed = claimed_by_b[0]
    callbacks._record(database, failed, Outcome(ok=False, status_code=503), after_lease)
    with database.read() as session:
        retry_at = session.get(CheckoutPayment, failed.payment_pk).callback_next_at
    assert retry_at is not None and retry_at < failed.leased_until  # B's retry, soon

    # A's outcome for the same callback arrives late: it changes nothing of B's.
    (late,) = [due for due in claimed_by_a if due.payment_pk == failed.payment_pk]
    callbacks._record(database, late, Outcome(ok=True, status_code=200), start)
    with database.read() as session:
        payment = session.get(CheckoutPayment, failed.payment_pk)
        assert payment.callback_state == "pending"
        assert payment.callback_attempts == 1 and payment.callback_last_status == 503
        assert payment.callback_next_at == retry_at
    assert all(review.callbacks() == [] for review in reviews)  # nothing POSTed by this test
