"""Property-based conformance with Schemathesis, driven by the OFFICIAL contract file.

Schemathesis reads `../shared/reference/vtex-customer-credit-api.json` (never our own
/openapi.json), generates requests for all 25 operations, positive (data the contract allows)
and negative (data it forbids), and sends them in-process to our app with a valid Main Access
key. Every response must be:

- never a 5xx;
- either a status the contract documents (200) or a 4xx in our error shape;
- when 200, a body that matches the contract's response schema (Schemathesis' own
  `response_schema_conformance` and `content_type_conformance` checks).

So that the requests reach the money paths instead of stopping at 404, a store is seeded with
real accounts, holds, settlements, invoices and holders, and every successful response feeds
its ids back into pools the generator draws from (a transaction id from a pre-authorization,
the invoices of a settlement, …). A light "steering" step, drawn from a seeded random generator,
sometimes replaces the generated ids with pooled ones, drops body fields the contract does not
declare (we refuse unknown fields, see docs/contract.md), and puts valid amounts where the
contract types amounts as free strings. A second, stateful run follows OpenAPI links added to
the contract copy: open account → pre-authorization → settlement → invoices (pay, change,
postpone, cancel), holder add → delete.

Seeds are fixed (Hypothesis `seed`/`derandomize`), so a failure reproduces; each failure is
reported with a curl command. The number of requests sent is counted and asserted."""

import contextlib
import copy
import hashlib
import json
import os
import random
import time
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.generation.feedback import NO_FEEDBACK
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.conftest import Store
from tests.contract import CONTRACT_PATH, KNOWN_CONTRACT_DEFECTS, PREFIX, is_error_shape
from tests.helpers import configure, hold, open_account, purchase

BASE_URL = "http://testserver"
# Set to a file path to log every generated request and its answer (for debugging).
DEBUG_LOG = os.environ.get("SCHEMATHESIS_REQUEST_LOG")
SEED = 20240501
# Examples per operation, per generation mode, per pass; two passes run over the 25 operations,
# so the second pass sees the ids the first one created.
EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 6}
PASSES = 2
STATEFUL_SCENARIOS = 40  # enough that the chain reaches an invoice of a settlement (P(none) < 0.1 %)
STATEFUL_STEPS = 20
# 25 operations x (12 + 6) x 2 passes = 900 bulk requests per database, plus up to 15 x 20
# stateful steps. The floor asserted per database makes at least 2,000 per `make test` run
# (SQLite + PostgreSQL).
MIN_REQUESTS_PER_DATABASE = 1_000

ACC = f"{PREFIX}/accounts/{{creditAccountId}}"
INV = f"{ACC}/invoices/{{invoiceId}}"
TRX = f"{ACC}/transactions/{{transactionId}}"
OPEN_ACCOUNT = ("POST", f"{PREFIX}/accounts")
SEARCH_ACCOUNTS = ("GET", f"{PREFIX}/accounts")
GET_ACCOUNT = ("GET", ACC)
UPDATE_ACCOUNT = ("PUT", ACC)
CLOSE_ACCOUNT = ("DELETE", ACC)
CREDIT_LIMIT = ("PUT", f"{ACC}/creditlimit")
TOLERANCE = ("PUT", f"{ACC}/tolerance")
ADD_HOLDER = ("POST", f"{ACC}/holders")
DELETE_HOLDER = ("DELETE", f"{ACC}/holders/{{holderId}}")
STATEMENTS = ("GET", f"{ACC}/statements")
DECREASE = ("PUT", f"{ACC}/statements/{{statementId}}")
CREATE_HOLD = ("POST", f"{ACC}/transactions")
PUT_HOLD = ("PUT", TRX)
CANCEL_HOLD = ("DELETE", TRX)
SETTLE = ("PUT", f"{TRX}/settlement")
REFUND = ("POST", f"{TRX}/refunds")
SEARCH_INVOICES = ("GET", f"{PREFIX}/invoices")
ACCOUNT_INVOICES = ("GET", f"{ACC}/invoices")
GET_INVOICE = ("GET", INV)
CHANGE_INVOICE = ("PUT", INV)
CANCEL_INVOICE = ("DELETE", INV)
PAY_INVOICE = ("POST", f"{INV}/payments")
POSTPONE = ("PUT", f"{INV}/postponement")
GET_CONFIG = ("GET", f"{PREFIX}/storeconfig")
PUT_CONFIG = ("PUT", f"{PREFIX}/storeconfig")

# Producers first, so that later operations of the same pass find ids to use.
ORDER = [
    GET_CONFIG,
    OPEN_ACCOUNT,
    SEARCH_ACCOUNTS,
    GET_ACCOUNT,
    UPDATE_ACCOUNT,
    CREDIT_LIMIT,
    TOLERANCE,
    ADD_HOLDER,
    CREATE_HOLD,
    PUT_HOLD,
    SETTLE,
    REFUND,
    SEARCH_INVOICES,
    ACCOUNT_INVOICES,
    GET_INVOICE,
    POSTPONE,
    CHANGE_INVOICE,
    PAY_INVOICE,
    CANCEL_INVOICE,
    STATEMENTS,
    DECREASE,
    DELETE_HOLDER,
    CANCEL_HOLD,
    CLOSE_ACCOUNT,
    # Last, so that the first pass runs under the seeded configuration (postponements on).
    PUT_CONFIG,
]

# The stateful chain, as OpenAPI links added to our copy of the contract (it defines none).
_ACCOUNT_FROM_BODY = {"creditAccountId": "$response.body#/id"}
_SAME_ACCOUNT = "$request.path.creditAccountId"
LINKS = {
    OPEN_ACCOUNT: {
        "CreateaPreAuthorization": _ACCOUNT_FROM_BODY,
        "AddanaccountHolder": _ACCOUNT_FROM_BODY,
        "RetrieveaAccountbyId": _ACCOUNT_FROM_BODY,
        "ChangecreditlimitofanAccount": _ACCOUNT_FROM_BODY,
        "Changetoleranceofanaccount": _ACCOUNT_FROM_BODY,
        "Accountstatements": _ACCOUNT_FROM_BODY,
        "Decreasebalanceofanaccount": _ACCOUNT_FROM_BODY,
        "SearchallinvoicesofaAccount": _ACCOUNT_FROM_BODY,
        "Updateemailanddescriptionofaaccount": _ACCOUNT_FROM_BODY,
        "CloseanAccount": _ACCOUNT_FROM_BODY,
    },
    CREATE_HOLD: {
        "CreateorUpdateSettlement": {"creditAccountId": _SAME_ACCOUNT, "transactionId": "$response.body#/id"},
        "CreateaPreAuthorization(usingid)": {
            "creditAccountId": _SAME_ACCOUNT,
            "transactionId": "$response.body#/id",
        },
        "CancelaPreAuthorization": {"creditAccountId": _SAME_ACCOUNT, "transactionId": "$response.body#/id"},
    },
    PUT_HOLD: {
        "CreateorUpdateSettlement": {"creditAccountId": _SAME_ACCOUNT, "transactionId": "$response.body#/id"},
    },
    SETTLE: {
        name: {"creditAccountId": _SAME_ACCOUNT, "invoiceId": "{$response.body#/id}-01"}
        for name in (
            "RetrieveInvoicebyId",
            "MarkaninvoiceasPaid",
            "ChangeInvoice",
            "Postponeaninvoice",
            "CancelInvoice",
        )
    }
    | {
        "PartialorTotalRefundaSettlement": {
            "creditAccountId": _SAME_ACCOUNT,
            "transactionId": "$response.body#/id",
        },
        "SearchallinvoicesofaAccount": {"creditAccountId": _SAME_ACCOUNT},
    },
    PAY_INVOICE: {
        "ChangeInvoice": {
            "creditAccountId": "$response.body#/creditAccountId",
            "invoiceId": "$response.body#/id",
        },
        "RetrieveInvoicebyId": {
            "creditAccountId": "$response.body#/creditAccountId",
            "invoiceId": "$response.body#/id",
        },
    },
    ADD_HOLDER: {
        "Deleteanaccountholder": {"creditAccountId": _SAME_ACCOUNT, "holderId": "$response.body#/id"},
    },
}


# ---------------------------------------------------------------------------------------------
# The contract copy given to Schemathesis


def _deref(node: dict, root: dict) -> dict:
    while "$ref" in node:
        target = root
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def patched_contract() -> dict:
    """The official file, with the documented defects patched (docs/contract.md) and the
    stateful links added. Nothing else changes."""
    raw = copy.deepcopy(json.loads(CONTRACT_PATH.read_text()))
    for (method, path), trails in KNOWN_CONTRACT_DEFECTS.items():
        response = _deref(raw["paths"][path][method]["responses"]["200"], raw)
        schema = _deref(response["content"]["application/json"]["schema"], raw)
        for trail in trails:
            node = schema
            for step in trail:
                node = _deref(node["properties"][step], raw)
            assert node["type"] == "integer", f"the contract defect {trail} is fixed upstream; drop the patch"
            node["type"] = "number"
    for (method, path), targets in LINKS.items():
        response = raw["paths"][path][method.lower()]["responses"]["200"]
        response["links"] = {
            f"to{target.replace('(', '').replace(')', '')}": {"operationId": target, "parameters": parameters}
            for target, parameters in targets.items()
        }
    return raw


def load_schema():
    schema = schemathesis.openapi.from_dict(patched_contract())
    schema.config.update(base_url=BASE_URL)
    # Credentials are ours (a Main Access key); the generator does not invent security headers.
    schema.config.generation.update(with_security_parameters=False)
    # Only the contract's chain (the links added above), not links guessed from parameter names.
    schema.config.phases.stateful.inference.algorithms = []
    return schema


# ---------------------------------------------------------------------------------------------
# Pools of real ids, fed by the seed and by every successful response


class Pools:
    def __init__(self):
        self.accounts: dict[str, dict] = {}
        self.transactions: dict[tuple[str, str], dict] = {}
        self.invoices: dict[tuple[str, str], None] = {}
        self.holders: dict[tuple[str, str], None] = {}
        self.statement_ids: list[str] = []

    def add_account(self, body: dict) -> None:
        if isinstance(body, dict) and isinstance(body.get("id"), str):
            self.accounts[body["id"]] = {
                "document": body.get("document"),
                "documentType": body.get("documentType"),
                "email": body.get("email"),
            }

    def add_invoice(self, item: dict) -> None:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            self.invoices[(item.get("creditAccountId") or item.get("accountId"), item["id"])] = None

    def harvest(self, key, case, status: int, body) -> None:
        if status != 200:
            return
        path = case.path_parameters or {}
        account = path.get("creditAccountId")
        if key in (OPEN_ACCOUNT, GET_ACCOUNT, UPDATE_ACCOUNT, CLOSE_ACCOUNT, CREDIT_LIMIT, TOLERANCE):
            self.add_account(body)
        elif key == SEARCH_ACCOUNTS:
            for item in body.get("data", []):
                self.add_account(item)
        elif key in (CREATE_HOLD, PUT_HOLD):
            sent = case.body if isinstance(case.body, dict) else {}
            self.transactions[(account, body["id"])] = {
                "value": body.get("value"),
                "installments": sent.get("installments", body.get("installments", 1)),
            }
        elif key == SETTLE:
            known = self.transactions.get((account, body["id"]), {})
            installments = known.get("installments")
            count = (
                int(installments) if isinstance(installments, int | float) and 1 <= installments <= 99 else 1
            )
            for installment in range(1, count + 1):
                self.invoices[(account, f"{body['id']}-{installment:02d}")] = None
        elif key in (SEARCH_INVOICES, ACCOUNT_INVOICES):
            for item in body.get("data", []):
                self.add_invoice(item)
        elif key in (GET_INVOICE, PAY_INVOICE):
            self.add_invoice(body)
        elif key == ADD_HOLDER:
            self.holders[(account, body["id"])] = None


def seed_store(api, pools: Pools) -> None:
    """Real data for the generator to reach: accounts with holds, settlements, invoices in
    every state, holders, a closed account."""
    configure(
        api,
        postponementEnabled=True,
        invoicePostponementLimit=3,
        maxPostponementDays=30,
        toleranceEnabled=True,
        maxPreAuthorizationGrowthRate=0.2,
        dailyInterestRate=0.001,
        defaultCreditValue=500,
    )
    for index in range(4):
        account = open_account(api, credit_limit="100000", tolerance="0.1")
        pools.add_account(account)
        account_id = account["id"]
        for installments in (1, 3):
            transaction_id = purchase(api, account_id, "120.50", installments=installments)
            pools.transactions[(account_id, transaction_id)] = {"value": 120.5, "installments": installments}
            for installment in range(1, installments + 1):
                pools.invoices[(account_id, f"{transaction_id}-{installment:02d}")] = None
        for settle in (True, False):
            live = hold(api, account_id, "75.25", installments=2, settle=settle)
            assert live.status_code == 200, live.text
            pools.transactions[(account_id, live.json()["id"])] = {"value": 75.25, "installments": 2}
        holder = api.post(
            f"/accounts/{account_id}/holders",
            json={"claims": {"email": f"seed-holder-{index}-{account_id}@example.com"}},
        )
        assert holder.status_code == 200, holder.text
        pools.holders[(account_id, holder.json()["id"])] = None
        invoices = [invoice for (owner, invoice) in pools.invoices if owner == account_id]
        assert api.post(f"/accounts/{account_id}/invoices/{invoices[0]}/payments").status_code == 200
        assert api.delete(f"/accounts/{account_id}/invoices/{invoices[1]}").status_code == 200
    closed = open_account(api, credit_limit="10")
    assert api.delete(f"/accounts/{closed['id']}").status_code == 200
    pools.add_account(closed)
    pools.statement_ids.append("seed-statement-1")


# ---------------------------------------------------------------------------------------------
# Steering: pooled ids and valid amounts some of the time


def _amount(rng: random.Random) -> Decimal:
    return rng.choice(
        [
            Decimal("25.5"),
            Decimal("0.01"),
            Decimal("1"),
            Decimal("9.99"),
            Decimal(rng.randint(1, 40000)) / 100,
        ]
    )


def _number(value: Decimal):
    """A JSON number for the wire; 2-place values survive float repr exactly."""
    return int(value) if value == value.to_integral_value() else float(value)


def _pick(rng: random.Random, items):
    items = list(items)
    return items[rng.randrange(len(items))] if items else None


def _email(rng: random.Random, prefix: str) -> str:
    return f"{prefix}{rng.randint(1, 40)}@example.com"


def _declared(case) -> set[str] | None:
    body_schema = None
    for alternative in case.operation.body:
        body_schema = alternative.definition.get("schema") if hasattr(alternative, "definition") else None
        break
    if not isinstance(body_schema, dict):
        return None
    return set(body_schema.get("properties", {}))


class _HappyRandom(random.Random):
    """Draws like its parent, but `choice` takes the first option: the steering functions list
    the value that succeeds first."""

    def __init__(self, parent: random.Random):
        super().__init__(parent.random())

    def choice(self, options):
        return options[0]


def steer_ids(rng: random.Random, key, case, pools: Pools) -> None:
    path = case.path_parameters
    if not path or rng.random() > 0.75:
        return
    needs = set(path)
    if "invoiceId" in needs:
        picked = _pick(rng, pools.invoices)
        if picked:
            path["creditAccountId"], path["invoiceId"] = picked
    elif "transactionId" in needs:
        picked = _pick(rng, pools.transactions)
        if picked:
            path["creditAccountId"], path["transactionId"] = picked
    elif "holderId" in needs:
        picked = _pick(rng, pools.holders)
        if picked:
            path["creditAccountId"], path["holderId"] = picked
    elif "creditAccountId" in needs:
        picked = _pick(rng, pools.accounts)
        if picked:
            path["creditAccountId"] = picked
    if "statementId" in needs:
        if pools.statement_ids and rng.random() < 0.3:
            path["statementId"] = _pick(rng, pools.statement_ids)
        else:
            path["statementId"] = f"fuzz-{rng.randint(1, 10**9)}"
            pools.statement_ids.append(path["statementId"])
    if rng.random() < 0.1 and "creditAccountId" in path and "invoiceId" not in needs:
        # A real account with another account's child id: must be a 404, never a leak.
        other = _pick(rng, pools.accounts)
        if other:
            path["creditAccountId"] = other


def steer_body(rng: random.Random, key, case, pools: Pools, *, always: bool = False) -> None:
    """Positive cases only: drop undeclared fields and put valid values where the contract's
    types are too loose for random data to pass (amounts as strings, e-mails, documents).
    `always` (the stateful run) steers every body, towards values that succeed, so that the
    scenarios get along their links."""
    body = case.body
    if not isinstance(body, dict):
        return
    if always:
        rng = _HappyRandom(rng)
    declared = _declared(case)
    if declared is not None and (always or rng.random() < 0.8):
        for name in [name for name in body if name not in declared]:
            del body[name]
    if not always and rng.random() > 0.7:
        return
    account = (case.path_parameters or {}).get("creditAccountId")
    known = pools.accounts.get(account, {}) if account else {}
    if key == OPEN_ACCOUNT:
        body["document"] = str(rng.randint(10_000_000_000, 10_000_000_040))
        body["documentType"] = rng.choice(["CPF", "CNPJ", "Other"])
        body["email"] = _email(rng, "owner")
        body["creditLimit"] = str(rng.choice([Decimal(100000), Decimal(5000), _amount(rng)]))
        body["tolerance"] = rng.choice(["0", "0.05", "0.5", "1"])
    elif key == UPDATE_ACCOUNT:
        body["document"] = known.get("document") or str(rng.randint(10**10, 10**10 + 40))
        body["documentType"] = known.get("documentType") or "CPF"
        body["email"] = _email(rng, "owner")
        if rng.random() < 0.5:
            body["creditLimit"] = _number(rng.choice([Decimal(100000), _amount(rng)]))
        if rng.random() < 0.5:
            body["tolerance"] = rng.choice([0, 0.1, 0.25])
    elif key == CLOSE_ACCOUNT:
        body.clear()
        if known and rng.random() < 0.5:
            body.update({name: value for name, value in known.items() if value is not None})
    elif key == CREDIT_LIMIT:
        body["value"] = _number(
            rng.choice([Decimal(100000), Decimal(100000), Decimal(5000), Decimal(0), _amount(rng)])
        )
    elif key == TOLERANCE:
        body["value"] = rng.choice([0.05, 0, 0.3, 1, 1.5])
    elif key == ADD_HOLDER:
        body["claims"] = {"email": _email(rng, "holder")}
    elif key in (CREATE_HOLD, PUT_HOLD):
        body["value"] = _number(_amount(rng))
        body["settle"] = isinstance(rng, _HappyRandom) or rng.random() < 0.8
        body["installments"] = rng.choice([3, 1, 1, 2, 3, 12, 99, 100])
        if key == CREATE_HOLD:
            choice = 0 if isinstance(rng, _HappyRandom) else rng.random()
            if choice < 0.6:
                body.pop("expirationDate", None)
            elif choice < 0.8:
                body["expirationDate"] = "2099-12-31T00:00:00"
            else:
                body["expirationDate"] = "2001-01-01"
    elif key == SETTLE:
        transaction = pools.transactions.get((account, (case.path_parameters or {}).get("transactionId")), {})
        value = transaction.get("value")
        if isinstance(value, int | float) and (isinstance(rng, _HappyRandom) or rng.random() < 0.7):
            body["value"] = _number(
                Decimal(str(value)) + rng.choice([Decimal(0), Decimal(0), Decimal("-1"), Decimal("5")])
            )
        else:
            body["value"] = _number(_amount(rng))
    elif key == REFUND:
        body["value"] = _number(rng.choice([Decimal("0.01"), Decimal("10"), _amount(rng)]))
    elif key == DECREASE:
        body["value"] = rng.choice(["-15", "15", "0.5", "-0.01", str(_amount(rng))])
    elif key == CHANGE_INVOICE:
        choice = rng.random()
        if choice < 0.3:
            body["paymentLink"] = "https://pay.example.com/invoice?x=1"
        elif choice < 0.4:
            body["paymentLink"] = "javascript:alert(1)"
        if rng.random() < 0.3:
            body["observation"] = "<script>alert(1)</script>"
    elif key == POSTPONE:
        body["dueDays"] = rng.choice([5, 1, 2, 10, 40])
    elif key == PUT_CONFIG:
        body.update(
            dailyInterestRate=rng.choice([0, 0.001, 0.01]),
            invoicePostponementLimit=rng.choice([0, 1, 3]),
            taxRate=rng.choice([0, 0.1]),
            maxPostponementDays=rng.choice([0, 10, 30]),
            defaultCreditValue=_number(rng.choice([Decimal(0), Decimal(500), _amount(rng)])),
            maxPreAuthorizationGrowthRate=rng.choice([0, 0.1, 0.2]),
            myCreditsEnabled=rng.random() < 0.5,
            toleranceEnabled=rng.random() < 0.5,
            automaticCheckingAccountCreationEnabled=rng.random() < 0.5,
            postponementEnabled=rng.random() < 0.8,
        )


def steer_query(rng: random.Random, key, case, pools: Pools) -> None:
    query = case.query
    if key == SEARCH_INVOICES and isinstance(query, dict) and rng.random() < 0.6:
        account = _pick(rng, pools.accounts)
        if account and rng.random() < 0.7:
            query["creditAccountId"] = account
        else:
            query.pop("creditAccountId", None)


# ---------------------------------------------------------------------------------------------
# Checks


def _body(response):
    try:
        return json.loads(response.content) if response.content else None
    except ValueError:
        return None


def documented_or_error_shape(ctx, response, case):
    """The contract documents only 200; any other answer must be a 4xx in our error shape."""
    documented = {int(code) for code in case.operation.responses.status_codes if code.isdigit()}
    if response.status_code in documented:
        return None
    assert 400 <= response.status_code < 500, f"undocumented status {response.status_code}"
    assert is_error_shape(response), (
        f"a {response.status_code} not in the error shape: {response.content[:300]!r}"
    )
    return None


CHECKS = [
    not_a_server_error,
    documented_or_error_shape,
    content_type_conformance,
    response_schema_conformance,
]


class Run:
    """Sends cases, validates them, counts everything."""

    def __init__(self, app, headers: dict, pools: Pools):
        self.app = app
        self.headers = headers
        self.pools = pools
        self.sent = 0
        self.by_operation: dict[tuple[str, str], Counter] = defaultdict(Counter)
        self.phase = "bulk"
        self.by_phase: dict[str, dict] = defaultdict(lambda: defaultdict(Counter))
        self.failures: list[str] = []

    def send(self, key, case, *, authenticated: bool = True, headers: dict | None = None):
        if not authenticated:
            for name in ("X-VTEX-API-AppKey", "X-VTEX-API-AppToken", "VtexIdclientAutCookie"):
                (case.headers or {}).pop(name, None)
        headers = headers or self.headers
        response = case.call(app=self.app, base_url=BASE_URL, headers=headers if authenticated else None)
        self.sent += 1
        if DEBUG_LOG:
            with open(DEBUG_LOG, "a") as log:
                sent = f"{self.phase} {key[0]} {key[1]} {case.path_parameters} {case.body!r:.300}"
                log.write(f"{sent} -> {response.status_code} {response.content[:200]!r}\n")
        self.by_operation[key][response.status_code] += 1
        self.by_phase[self.phase][key][response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
            if not authenticated:
                # 401, unless the request was already refused at the door for what it is (a path
                # with control characters, a body too large or not JSON), before credentials.
                at_the_door = response.status_code in (413, 415) or (
                    response.status_code == 400 and _body(response)["error"]["code"] == "InvalidPath"
                )
                assert response.status_code == 401 or at_the_door, (
                    f"no credentials answered {response.status_code}"
                )
        except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - collected, reported at the end
            if len(self.failures) < 25:
                self.failures.append(f"{key[0]} {key[1]}: {failure}\n    {case.as_curl_command()}")
            else:
                self.failures.append(f"{key[0]} {key[1]}: {type(failure).__name__}")
        body = _body(response)
        if isinstance(body, dict):
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                self.pools.harvest(key, case, response.status_code, body)
        return response


HYPOTHESIS = {
    "database": None,
    "deadline": None,
    "suppress_health_check": list(HealthCheck),
    "phases": [Phase.explicit, Phase.generate],
    "print_blob": False,
}


def fuzz_operation(run: Run, operation, key, mode: GenerationMode, pass_number: int) -> None:
    label = f"{SEED}:{key[0]}:{key[1]}:{mode.value}:{pass_number}"
    rng = random.Random(label)

    @seed(random.Random(label).randrange(2**32))
    @settings(max_examples=EXAMPLES[mode], **HYPOTHESIS)
    @given(case=operation.as_strategy(generation_mode=mode, feedback=NO_FEEDBACK))
    def check(case):
        steer_ids(rng, key, case, run.pools)
        if mode == GenerationMode.POSITIVE:
            steer_body(rng, key, case, run.pools)
            steer_query(rng, key, case, run.pools)
        run.send(key, case, authenticated=rng.random() > 0.03)

    check()


def _case_rng(case) -> random.Random:
    """A generator fixed by the case's content, so that Hypothesis, replaying a scenario, sees
    the same steering (a shared stream would make the state machine look flaky)."""
    # Not the path: ids that come through links are random (transaction ids), the rest is not.
    content = repr((case.operation.label, case.query, case.body))
    return random.Random(hashlib.sha256(f"{SEED}:{content}".encode()).hexdigest())


def stateful_run(run: Run, schema, new_store) -> None:
    """Scenarios along the links; each one in a fresh store, so that a scenario's outcome
    depends only on its own steps."""
    operations = {
        (result.ok().method.upper(), result.ok().path): result.ok() for result in schema.get_all_operations()
    }
    keys = {operation.label: key for key, operation in operations.items()}

    class Machine(schema.build_state_machine(feedback=NO_FEEDBACK, link_calibration=None)):
        def setup(self):
            self.api = new_store()

        def call(self, case, **kwargs):
            key = keys[case.operation.label]
            if case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE:
                steer_body(_case_rng(case), key, case, run.pools, always=True)
            return run.send(key, case, headers=self.api.headers)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # Already validated (and counted) in run.send.
            return None

    Machine.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            derandomize=True,
            **HYPOTHESIS,
        )
    )


@pytest.mark.slow
@pytest.mark.shares_cores
def test_schemathesis_against_the_official_contract(app, api, database_url):
    schema = load_schema()
    operations = {
        (result.ok().method.upper(), result.ok().path): result.ok() for result in schema.get_all_operations()
    }
    assert sorted(operations) == sorted(ORDER), "the contract's operations changed"
    assert len(operations) == 25

    pools = Pools()
    started = time.perf_counter()
    seed_store(api, pools)
    run = Run(app, dict(api.headers), pools)
    for pass_number in range(PASSES):
        for key in ORDER:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzz_operation(run, operations[key], key, mode, pass_number)
    bulk = run.sent
    bulk_s = time.perf_counter() - started

    def new_store():
        fresh = Store(api.store.database, api.store.http).api()
        configure(fresh, postponementEnabled=True, invoicePostponementLimit=2, maxPostponementDays=30)
        return fresh

    started = time.perf_counter()
    run.phase = "stateful"
    stateful_run(run, schema, new_store)

    stateful_s = time.perf_counter() - started
    database = database_url.split(":", 1)[0].split("+")[0]
    print(
        f"\n[schemathesis {database}] {run.sent} generated requests: {bulk} bulk in {bulk_s:.1f} s, "
        f"{run.sent - bulk} stateful in {stateful_s:.1f} s"
    )
    for key in ORDER:
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(run.by_operation[key].items()))
        print(f"  {key[0]:6} {key[1].removeprefix(PREFIX):70} {statuses}")

    assert not run.failures, f"{len(run.failures)} failing responses:\n" + "\n".join(run.failures[:25])
    assert run.sent >= MIN_REQUESTS_PER_DATABASE, run.sent
    # Deep paths were reached: every operation answered 200 at least once, not only 4xx.
    never_ok = [f"{method} {path}" for (method, path) in ORDER if run.by_operation[(method, path)][200] == 0]
    assert not never_ok, f"operations that never succeeded: {never_ok}"
    # The stateful run followed its links to the end of the chain: a settlement of a hold it
    # created, then an invoice of that settlement.
    stateful = run.by_phase["stateful"]
    print(
        "  stateful 200s:",
        {f"{m} {p.removeprefix(PREFIX)}": c[200] for (m, p), c in stateful.items() if c[200]},
    )
    assert stateful[SETTLE][200] > 0
    assert (
        sum(
            stateful[key][200] for key in (GET_INVOICE, PAY_INVOICE, CHANGE_INVOICE, POSTPONE, CANCEL_INVOICE)
        )
        > 0
    )
