"""Schemathesis against VTEX's Payment Provider Protocol, driven by the spec in ../shared.

Schemathesis generates requests for the spec's 9 operations, positive (data the spec allows)
and negative (data it forbids), and sends them in-process to /ppp/{store} of a fresh store,
with that store's Payment Provider key in the X-PROVIDER-API-* headers. Every answer must be:

- never a 5xx, except the protocol's own refusal: a 500 the spec documents for the operation,
  in the spec's failure shape, with the code of one of our rules (a settlement of a denied
  payment, say); an unhandled exception answers another 500 and fails the run;
- when its status is one the spec documents, a body that the spec's schema for it accepts;
- a 401 when the credentials are left off (a few requests are sent without them), unless the
  request is refused at the door for what it is.

So that the generated requests reach the money paths and not only 404, the store is seeded
with accounts and payments (approved, settled, denied, cancelled), the store opens accounts
automatically (a generated buyer with a document gets one), and a seeded "steering" step
sometimes puts a real paymentId in the path, a known buyer in the body, or a valid amount, and
now and then a NUL in one string of a valid body (PostgreSQL's blind spot).
Seeds are fixed, so a failure reproduces; each one is reported with a curl command."""

import copy
import json
import os
import random
import time
from collections import Counter, defaultdict

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.generation.feedback import NO_FEEDBACK

from customer_credit.checkout import service
from tests.checkout.support import (
    gateway_for,
    new_id,
    payment_body,
    ppp_errors,
    ppp_response,
    ppp_spec,
)
from tests.helpers import configure, open_account

SEED = 20260614
# Set to a file path to log every generated request and its answer (for debugging).
DEBUG_LOG = os.environ.get("SCHEMATHESIS_REQUEST_LOG")
EXAMPLES = {GenerationMode.POSITIVE: 30, GenerationMode.NEGATIVE: 12}
UNAUTHENTICATED_SHARE = 0.05
# The codes a rule's refusal answers with (a 500 the protocol documents); any other 500 is a bug.
REFUSAL_CODES = {
    "PaymentNotApproved",
    "PaymentSettled",
    "PaymentNotSettled",
    "PaymentAlreadySettled",
    "PaymentNotCancellable",
    "GrowthLimitExceeded",
    "InsufficientCredit",
    "TransactionCancelled",
    "TransactionExpired",
    "TransactionRefunded",
    "TransactionNotSettled",
    "SettlementBelowPaid",
    "SettlementHasInterest",
    "SettlementNotAllowed",
    "RefundExceedsSettlement",
    "AccountClosed",
}
OPERATIONS = [
    ("GET", "/manifest"),
    ("POST", "/payments"),
    ("POST", "/payments/{paymentId}/settlements"),
    ("POST", "/payments/{paymentId}/refunds"),
    ("POST", "/payments/{paymentId}/cancellations"),
    ("POST", "/payments/{paymentId}/inbound/{action}"),
    ("POST", "/authorization/token"),
    ("GET", "/authorization/redirect"),
    ("GET", "/authorization/credentials"),
]
PROTECTED = {operation for operation in OPERATIONS if operation[1].startswith("/payments")}
BUYER_DOCUMENTS = ["90000000001", "90000000002", "90000000003"]


def load_schema():
    schema = schemathesis.openapi.from_dict(copy.deepcopy(ppp_spec()))
    # The credentials are a real key's; the generator does not invent security headers.
    schema.config.generation.update(with_security_parameters=False)
    return schema


class Pools:
    """Real paymentIds: seeded, and harvested from every approved payment."""

    def __init__(self) -> None:
        self.payments: dict[str, str] = {}  # paymentId -> its value as sent

    def harvest(self, key, case, status: int, body) -> None:
        if key == ("POST", "/payments") and status == 200 and isinstance(body, dict):
            sent = case.body if isinstance(case.body, dict) else {}
            if body.get("status") == "approved" and isinstance(body.get("paymentId"), str):
                self.payments[body["paymentId"]] = str(sent.get("value"))


def seed_store(store, api, pools: Pools) -> None:
    configure(
        api,
        automaticCheckingAccountCreationEnabled=True,
        defaultCreditValue=2000,
        toleranceEnabled=True,
        maxPreAuthorizationGrowthRate=0.2,
    )
    for document in BUYER_DOCUMENTS:
        open_account(api, credit_limit="100000", tolerance="0.1", document=document)
    gateway = gateway_for(store)
    for index, document in enumerate(BUYER_DOCUMENTS):
        for installments in (1, 3):
            body = payment_body(value="120.50", installments=installments, document=document, email=None)
            assert gateway.pay(body).json()["status"] == "approved"
            pools.payments[body["paymentId"]] = "120.50"
            if index == 0:
                assert gateway.settle(body["paymentId"], "120.50").status_code == 200
            elif index == 1 and installments == 1:
                assert gateway.cancel(body["paymentId"]).status_code == 200
    denied = payment_body(value="999999", document=BUYER_DOCUMENTS[0])
    assert gateway.pay(denied).json()["status"] == "denied"
    pools.payments[denied["paymentId"]] = "999999"


def _amount(rng: random.Random):
    return rng.choice([120.5, 10, 0.01, 144.6, 200, round(rng.uniform(0.01, 500), 2)])


def steer(rng: random.Random, key, case, pools: Pools) -> None:
    """Positive cases, some of the time: a real paymentId, a known buyer, a valid amount."""
    path = case.path_parameters
    if path and "paymentId" in path and pools.payments and rng.random() < 0.6:
        path["paymentId"] = rng.choice(sorted(pools.payments))
    body = case.body
    if not isinstance(body, dict) or rng.random() < 0.25:
        return
    if key == ("POST", "/payments"):
        body["paymentId"] = new_id() if rng.random() < 0.8 else rng.choice(sorted(pools.payments))
        body["transactionId"] = new_id()
        body["orderId"] = f"order-{body['paymentId'][:8]}"
        body["reference"] = f"ref-{body['paymentId'][:6]}"
        body["currency"] = "USD"
        body["value"] = _amount(rng)
        body["installments"] = rng.choice([1, 3, 12, 99, 100, 0])
        buyer = body.get("miniCart", {}).get("buyer") if isinstance(body.get("miniCart"), dict) else None
        if isinstance(buyer, dict) and rng.random() < 0.7:
            buyer["document"] = rng.choice([*BUYER_DOCUMENTS, str(rng.randint(10**10, 10**11))])
            buyer["documentType"] = rng.choice(["CPF", "cpf", "CNPJ", "other"])
            buyer["email"] = f"fuzz-buyer-{rng.randint(1, 20)}@example.com"
        if rng.random() < 0.3:
            body["merchantSettings"] = [{"name": service.PAYMENT_CONDITION_FIELD, "value": "no such terms"}]
    elif key in (("POST", "/payments/{paymentId}/settlements"), ("POST", "/payments/{paymentId}/refunds")):
        known = pools.payments.get((path or {}).get("paymentId", ""))
        body["value"] = float(known) if known and rng.random() < 0.5 else _amount(rng)
        body["requestId"] = new_id()
    elif key == ("POST", "/payments/{paymentId}/cancellations"):
        body["requestId"] = new_id()
    if rng.random() < 0.1:
        _poison(rng, body)


def _poison(rng: random.Random, body: dict) -> None:
    """A NUL in one string of an otherwise valid body: PostgreSQL cannot store or compare it, so
    this is where a missing check shows as a 500 on one database only."""
    buyer = body.get("miniCart", {}).get("buyer") if isinstance(body.get("miniCart"), dict) else None
    targets = [(body, name) for name, value in body.items() if isinstance(value, str)]
    if isinstance(buyer, dict):
        targets += [(buyer, name) for name, value in buyer.items() if isinstance(value, str)]
    if targets:
        node, name = rng.choice(targets)
        node[name] = node[name][:8] + "\x00" + node[name][8:]


def _json(response):
    try:
        return json.loads(response.content) if response.content else None
    except ValueError:
        return None


def _documented(method: str, path: str, status: int) -> bool:
    try:
        ppp_response(method, path, status)
    except KeyError:
        return False
    return True


class Run:
    def __init__(self, app, base_url: str, credentials: dict[str, str], pools: Pools):
        self.app = app
        self.base_url = base_url
        self.credentials = credentials
        self.pools = pools
        self.sent = 0
        self.by_operation: dict[tuple[str, str], Counter] = defaultdict(Counter)
        self.failures: list[str] = []

    def send(self, key, case, *, authenticated: bool) -> None:
        headers = dict(case.headers or {})
        for name in list(headers):
            if name.lower().startswith(("x-provider-api-", "x-vtex-api-")):
                del headers[name]
        if authenticated:
            headers.update(self.credentials)
        case.headers = headers
        response = case.call(app=self.app, base_url=self.base_url)
        self.sent += 1
        self.by_operation[key][response.status_code] += 1
        if DEBUG_LOG:
            with open(DEBUG_LOG, "a") as log:
                sent = f"{key[0]} {key[1]} {case.path_parameters} {case.body!r:.400}"
                log.write(f"{sent} -> {response.status_code} {response.content[:300]!r}\n")
        body = _json(response)
        try:
            self.check(key, response, body, authenticated=authenticated)
        except AssertionError as failure:
            if len(self.failures) < 25:
                self.failures.append(f"{key[0]} {key[1]}: {failure}\n    {case.as_curl_command()}")
            else:
                self.failures.append(f"{key[0]} {key[1]}: {failure}")
        self.pools.harvest(key, case, response.status_code, body)

    @staticmethod
    def check(key, response, body, *, authenticated: bool) -> None:
        method, path = key
        status = response.status_code
        shown = response.content[:300]
        if status >= 500:
            assert status == 500 and _documented(method, path, 500), f"a {status}: {shown!r}"
            assert isinstance(body, dict) and body.get("code") in REFUSAL_CODES, (
                f"an unexpected 500: {shown!r}"
            )
        if _documented(method, path, status):
            problems = ppp_errors(method, path, status, body)
            assert not problems, f"a {status} the spec's schema refuses: {problems}: {shown!r}"
        if not authenticated and key in PROTECTED:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            at_the_door = status in (413, 415) or (status == 400 and error.get("code") == "InvalidPath")
            assert status == 401 or at_the_door, f"no credentials answered {status}: {shown!r}"


HYPOTHESIS = {
    "database": None,
    "deadline": None,
    "suppress_health_check": list(HealthCheck),
    "phases": [Phase.explicit, Phase.generate],
    "print_blob": False,
}


def fuzz_operation(run: Run, operation, key, mode: GenerationMode) -> None:
    label = f"{SEED}:{key[0]}:{key[1]}:{mode.value}"
    rng = random.Random(label)

    @seed(random.Random(label).randrange(2**32))
    @settings(max_examples=EXAMPLES[mode], **HYPOTHESIS)
    @given(case=operation.as_strategy(generation_mode=mode, feedback=NO_FEEDBACK))
    def check(case):
        if mode == GenerationMode.POSITIVE:
            steer(rng, key, case, run.pools)
        run.send(key, case, authenticated=rng.random() > UNAUTHENTICATED_SHARE)

    check()


@pytest.mark.slow
@pytest.mark.shares_cores
def test_schemathesis_against_the_payment_provider_protocol(app, store, api, database_url):
    schema = load_schema()
    operations = {
        (result.ok().method.upper(), result.ok().path): result.ok() for result in schema.get_all_operations()
    }
    assert sorted(operations) == sorted(OPERATIONS), "the spec's operations changed"

    pools = Pools()
    seed_store(store, api, pools)
    gateway = gateway_for(store)
    started = time.perf_counter()
    credentials = {name: value for name, value in gateway.headers.items() if name.startswith("X-")}
    run = Run(app, f"http://testserver{gateway.base}", credentials, pools)
    for key in OPERATIONS:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz_operation(run, operations[key], key, mode)
    elapsed = time.perf_counter() - started

    database = database_url.split(":", 1)[0].split("+")[0]
    print(f"\n[schemathesis ppp {database}] {run.sent} generated requests in {elapsed:.1f} s")
    for key in OPERATIONS:
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(run.by_operation[key].items()))
        print(f"  {key[0]:4} {key[1]:42} {statuses}")
    assert not run.failures, f"{len(run.failures)} failing responses:\n" + "\n".join(run.failures[:25])
    # The money paths were reached, not only refusals at the door.
    for key in [("POST", "/payments"), *sorted(PROTECTED - {("POST", "/payments")})]:
        assert run.by_operation[key][200] > 0, f"{key} never succeeded: {dict(run.by_operation[key])}"
