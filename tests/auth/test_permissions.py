"""Authentication and the permission matrix.

For every operation of the official contract (taken from the contract itself, so none is
missed) the resource it needs is read from the operation's description table; a key holding
every other resource gets 403, a key holding only that one succeeds. Then: missing, wrong,
revoked and expired credentials get 401; user tokens work; tokens are stored hashed."""

import hashlib
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from customer_credit.auth.models import ApiKey
from customer_credit.auth.resources import (
    ALL_RESOURCES,
    CREATE_ACCOUNTS,
    EDIT_CREDITS,
    MAIN_ACCESS,
    READ_ACCOUNTS,
)
from customer_credit.auth.service import issue_user_token, revoke_key
from customer_credit.stores.models import Store as StoreRow
from tests.conftest import Api
from tests.contract import assert_matches, contract, is_error_shape, operations
from tests.helpers import configure, hold, open_account, purchase

P = "/api/creditcontrol"
_RESOURCE_ROW = re.compile(r"^\|\s*Credit Control\s*\|[^|]*\|\s*\*\*(?P<resource>[^*]+)\*\*\s*\|\s*$", re.M)


def required_resource(method: str, path: str) -> str:
    """The resource named in the operation's description table, besides Main Access."""
    description = contract()["paths"][path][method]["description"]
    named = [match.group("resource").strip() for match in _RESOURCE_ROW.finditer(description)]
    assert MAIN_ACCESS in named, (method, path, named)
    own = [name for name in named if name != MAIN_ACCESS]
    assert len(own) == 1, (method, path, named)
    return own[0]


# --- what each operation needs to succeed, prepared with a Main Access key -----------------


def _account(api) -> str:
    return open_account(api, credit_limit="1000")["id"]


def _invoice(api) -> dict:
    account_id = _account(api)
    transaction_id = purchase(api, account_id, "100", installments=2)
    return {
        "creditAccountId": account_id,
        "invoiceId": f"{transaction_id}-01",
        "transactionId": transaction_id,
    }


def _live_hold(api, settle: bool = True) -> dict:
    account_id = _account(api)
    held = hold(api, account_id, "50", settle=settle)
    assert held.status_code == 200, held.text
    return {"creditAccountId": account_id, "transactionId": held.json()["id"]}


def _holder(api) -> dict:
    account_id = _account(api)
    added = api.post(
        f"/accounts/{account_id}/holders", json={"claims": {"email": f"{uuid.uuid4().hex}@example.com"}}
    )
    assert added.status_code == 200, added.text
    return {"creditAccountId": account_id, "holderId": added.json()["id"]}


def _postponable(api) -> dict:
    configure(api, postponementEnabled=True, invoicePostponementLimit=1, maxPostponementDays=10)
    return _invoice(api)


def _new_account_body() -> dict:
    document = str(uuid.uuid4().int)[:11]
    return {
        "document": document,
        "documentType": "CPF",
        "email": f"{document}@example.com",
        "creditLimit": "10",
    }


# (method, contract path) -> builder(api) -> (path params, json body or None, query params or None)
SETUPS = {
    ("get", f"{P}/invoices"): lambda api: (
        (ids := _invoice(api)),
        None,
        {"creditAccountId": ids["creditAccountId"]},
    ),
    ("get", f"{P}/accounts/{{creditAccountId}}/invoices/{{invoiceId}}"): lambda api: (
        _invoice(api),
        None,
        None,
    ),
    ("put", f"{P}/accounts/{{creditAccountId}}/invoices/{{invoiceId}}"): lambda api: (
        _invoice(api),
        {"status": "Paid", "observation": "paid at the counter"},
        None,
    ),
    ("delete", f"{P}/accounts/{{creditAccountId}}/invoices/{{invoiceId}}"): lambda api: (
        _invoice(api),
        None,
        None,
    ),
    ("get", f"{P}/accounts/{{creditAccountId}}/invoices"): lambda api: (_invoice(api), None, None),
    ("post", f"{P}/accounts/{{creditAccountId}}/invoices/{{invoiceId}}/payments"): lambda api: (
        _invoice(api),
        None,
        None,
    ),
    ("put", f"{P}/accounts/{{creditAccountId}}/invoices/{{invoiceId}}/postponement"): lambda api: (
        _postponable(api),
        {"dueDays": 5},
        None,
    ),
    ("get", f"{P}/accounts"): lambda api: ({"creditAccountId": _account(api)}, None, None),
    ("post", f"{P}/accounts"): lambda api: ({}, _new_account_body(), None),
    ("get", f"{P}/accounts/{{creditAccountId}}"): lambda api: (
        {"creditAccountId": _account(api)},
        None,
        None,
    ),
    ("delete", f"{P}/accounts/{{creditAccountId}}"): lambda api: (
        {"creditAccountId": _account(api)},
        None,
        None,
    ),
    ("put", f"{P}/accounts/{{creditAccountId}}"): lambda api: (
        {"creditAccountId": _account(api)},
        {"email": "changed@example.com", "document": "12345", "documentType": "Other"},
        None,
    ),
    ("get", f"{P}/accounts/{{creditAccountId}}/statements"): lambda api: (
        {"creditAccountId": _account(api)},
        None,
        None,
    ),
    ("put", f"{P}/accounts/{{creditAccountId}}/creditlimit"): lambda api: (
        {"creditAccountId": _account(api)},
        {"value": 2000},
        None,
    ),
    ("put", f"{P}/accounts/{{creditAccountId}}/statements/{{statementId}}"): lambda api: (
        {"creditAccountId": _account(api), "statementId": uuid.uuid4().hex},
        {"value": "-15"},
        None,
    ),
    ("put", f"{P}/accounts/{{creditAccountId}}/transactions/{{transactionId}}/settlement"): lambda api: (
        _live_hold(api),
        {"value": 50},
        None,
    ),
    ("post", f"{P}/accounts/{{creditAccountId}}/transactions"): lambda api: (
        {"creditAccountId": _account(api)},
        {"value": 10, "settle": True, "installments": 1},
        None,
    ),
    ("put", f"{P}/accounts/{{creditAccountId}}/transactions/{{transactionId}}"): lambda api: (
        _live_hold(api),
        {"value": 40, "settle": True, "installments": 2},
        None,
    ),
    ("delete", f"{P}/accounts/{{creditAccountId}}/transactions/{{transactionId}}"): lambda api: (
        _live_hold(api, settle=False),
        None,
        None,
    ),
    ("post", f"{P}/accounts/{{creditAccountId}}/holders"): lambda api: (
        {"creditAccountId": _account(api)},
        {"claims": {"email": f"{uuid.uuid4().hex}@example.com"}},
        None,
    ),
    ("delete", f"{P}/accounts/{{creditAccountId}}/holders/{{holderId}}"): lambda api: (
        _holder(api),
        None,
        None,
    ),
    ("put", f"{P}/accounts/{{creditAccountId}}/tolerance"): lambda api: (
        {"creditAccountId": _account(api)},
        {"value": 0.3},
        None,
    ),
    ("post", f"{P}/accounts/{{creditAccountId}}/transactions/{{transactionId}}/refunds"): lambda api: (
        _invoice(api),
        {"value": 30},
        None,
    ),
    ("get", f"{P}/storeconfig"): lambda api: ({}, None, None),
    ("put", f"{P}/storeconfig"): lambda api: (
        {},
        {
            "dailyInterestRate": 0.01,
            "invoicePostponementLimit": 2,
            "taxRate": 0.4,
            "maxPostponementDays": 3,
            "defaultCreditValue": 150,
            "maxPreAuthorizationGrowthRate": 0.1,
            "myCreditsEnabled": True,
            "toleranceEnabled": True,
            "automaticCheckingAccountCreationEnabled": True,
            "postponementEnabled": True,
        },
        None,
    ),
}


def call(api: Api, method: str, path: str, params: dict, body, query):
    url = path.format(**{name: params.get(name, "x") for name in re.findall(r"{(\w+)}", path)})
    kwargs = {}
    if body is not None:
        kwargs["json"] = body
    if query is not None:
        kwargs["params"] = query
    return api.request(method.upper(), url, **kwargs)


def _op_id(operation) -> str:
    method, path = operation
    return f"{method.upper()} {path.removeprefix(P) or '/'}"


OPERATIONS = operations()


def test_the_matrix_covers_every_operation():
    assert len(OPERATIONS) == 25
    assert set(SETUPS) == set(OPERATIONS)
    for method, path in OPERATIONS:
        assert required_resource(method, path) in ALL_RESOURCES


def test_resources_named_in_the_brief():
    """A spot check of the parsing against what the contract's tables say."""
    accounts = f"{P}/accounts/{{creditAccountId}}"
    assert required_resource("put", f"{accounts}/tolerance") == "Create Checking Accounts"
    assert required_resource("put", f"{accounts}/creditlimit") == "Edit credits"
    assert required_resource("put", f"{accounts}/statements/{{statementId}}") == "Edit credits"
    assert required_resource("get", f"{accounts}/statements") == "Read Statements"
    assert (
        required_resource("post", f"{accounts}/transactions/{{transactionId}}/refunds") == "Create Statements"
    )
    assert required_resource("post", f"{accounts}/invoices/{{invoiceId}}/payments") == "Pay Invoice"
    assert required_resource("put", f"{P}/storeconfig") == "Edit Configuration"


@pytest.mark.parametrize("operation", OPERATIONS, ids=_op_id)
def test_permission_matrix(store, operation):
    method, path = operation
    resource = required_resource(method, path)
    main = store.api([MAIN_ACCESS])  # prepares what the operation needs
    params, body, query = SETUPS[operation](main)

    everything_else = [name for name in ALL_RESOURCES if name not in (MAIN_ACCESS, resource)]
    denied = call(store.api(everything_else), method, path, params, body, query)
    assert denied.status_code == 403, denied.text
    assert is_error_shape(denied)

    allowed = call(store.api([resource]), method, path, params, body, query)
    assert allowed.status_code == 200, allowed.text
    assert_matches(method, path, allowed)


# --- 401 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS, ids=_op_id)
def test_no_credentials_is_401_everywhere(store, operation):
    method, path = operation
    nobody = Api(store.http, {}, store)
    response = call(nobody, method, path, {}, None, None)
    assert response.status_code == 401, response.text
    assert is_error_shape(response)


@pytest.mark.parametrize("operation", OPERATIONS, ids=_op_id)
def test_wrong_token_is_401_everywhere(api, operation):
    method, path = operation
    wrong = Api(
        api.http, {**api.headers, "X-VTEX-API-AppToken": api.headers["X-VTEX-API-AppToken"] + "x"}, api.store
    )
    response = call(wrong, method, path, {}, None, None)
    assert response.status_code == 401, response.text
    assert is_error_shape(response)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-VTEX-API-AppKey": "vtexappkey-nobody-000000", "X-VTEX-API-AppToken": "whatever"},
        {"X-VTEX-API-AppToken": "only-a-token"},
        {"X-VTEX-API-AppKey": "only-a-key"},
        {"X-VTEX-API-AppKey": "", "X-VTEX-API-AppToken": ""},
        {"VtexIdclientAutCookie": "not-a-token"},
        {"VtexIdclientAutCookie": ""},
        {"Authorization": "Bearer something"},
    ],
)
def test_bad_credentials_are_401(api, headers):
    response = api.http.get(f"{P}/accounts", headers=headers)
    assert response.status_code == 401, response.text
    assert is_error_shape(response)


def test_key_of_one_store_with_token_of_another_is_401(api, other_api):
    mixed = {
        "X-VTEX-API-AppKey": api.headers["X-VTEX-API-AppKey"],
        "X-VTEX-API-AppToken": other_api.headers["X-VTEX-API-AppToken"],
    }
    response = api.http.get(f"{P}/accounts", headers=mixed)
    assert response.status_code == 401


def test_revoked_key_is_401(store, database):
    api = store.api()
    assert api.get("/accounts").status_code == 200
    keep = store.api()
    with database.write() as session:
        revoke_key(session, api.headers["X-VTEX-API-AppKey"])
    response = api.get("/accounts")
    assert response.status_code == 401
    assert is_error_shape(response)
    assert api.post("/accounts", json=_new_account_body()).status_code == 401
    # Other keys of the same store keep working.
    assert keep.get("/accounts").status_code == 200


# --- user tokens ---------------------------------------------------------------------------


def user_token(database, settings, store, resources, *, email="operator@example.com", ttl=timedelta(hours=1)):
    with database.read() as session:
        row = session.get(StoreRow, store.id)
        return issue_user_token(settings.resolved_secret_key(), row, email, list(resources), ttl)


def test_user_token_works(store, database, settings):
    token = user_token(database, settings, store, [MAIN_ACCESS])
    user = Api(store.http, {"VtexIdclientAutCookie": token}, store)
    opened = user.post("/accounts", json=_new_account_body())
    assert opened.status_code == 200, opened.text
    assert user.get(f"/accounts/{opened.json()['id']}").status_code == 200


def test_user_token_as_cookie_works(store, database, settings):
    token = user_token(database, settings, store, [READ_ACCOUNTS])
    response = store.http.get(f"{P}/accounts", headers={"Cookie": f"VtexIdclientAutCookie={token}"})
    assert response.status_code == 200, response.text


def test_user_token_resources_are_enforced(store, database, settings):
    token = user_token(database, settings, store, [READ_ACCOUNTS])
    user = Api(store.http, {"VtexIdclientAutCookie": token}, store)
    assert user.get("/accounts").status_code == 200
    refused = user.post("/accounts", json=_new_account_body())
    assert refused.status_code == 403
    assert is_error_shape(refused)


def test_user_token_email_signs_the_ledger(store, database, settings):
    main = store.api()
    account_id = _account(main)
    token = user_token(database, settings, store, [EDIT_CREDITS], email="finance@example.com")
    user = Api(store.http, {"VtexIdclientAutCookie": token}, store)
    assert user.put(f"/accounts/{account_id}/creditlimit", json={"value": 1500}).status_code == 200
    entries = main.get(f"/accounts/{account_id}/statements").json()["statements"]
    assert [entry["doneby"] for entry in entries] == ["finance@example.com"]


def test_expired_user_token_is_401(store, database, settings):
    token = user_token(database, settings, store, [MAIN_ACCESS], ttl=timedelta(seconds=-30))
    response = store.http.get(f"{P}/accounts", headers={"VtexIdclientAutCookie": token})
    assert response.status_code == 401
    assert is_error_shape(response)


def test_tampered_user_token_is_401(store, database, settings):
    token = user_token(database, settings, store, [READ_ACCOUNTS])
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    # A payload rewritten to claim more resources, keeping the old signature.
    import base64
    import json

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["resources"] = [MAIN_ACCESS]
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    for bad in (
        f"{header}.{payload}.{flipped}",
        f"{header}.{forged_payload}.{signature}",
        f"{header}.{payload}.",
        token[:-10],
    ):
        response = store.http.get(f"{P}/accounts", headers={"VtexIdclientAutCookie": bad})
        assert response.status_code == 401, bad
        assert is_error_shape(response)


def test_user_token_signed_with_another_secret_is_401(store, database):
    with database.read() as session:
        row = session.get(StoreRow, store.id)
        token = issue_user_token(
            "another-secret-" + "y" * 32, row, "x@example.com", [MAIN_ACCESS], timedelta(hours=1)
        )
    response = store.http.get(f"{P}/accounts", headers={"VtexIdclientAutCookie": token})
    assert response.status_code == 401


def test_unsigned_user_token_is_401(store):
    import jwt

    token = jwt.encode(
        {
            "sub": "x@example.com",
            "sid": store.id,
            "resources": [MAIN_ACCESS],
            "exp": 4102444800,
            "aud": "customer-credit",
        },
        key=None,
        algorithm="none",
    )
    response = store.http.get(f"{P}/accounts", headers={"VtexIdclientAutCookie": token})
    assert response.status_code == 401


# --- tokens at rest ------------------------------------------------------------------------


def test_api_keys_table_stores_only_a_sha256_of_the_token(store, database):
    api = store.api([CREATE_ACCOUNTS, READ_ACCOUNTS])
    token = api.headers["X-VTEX-API-AppToken"]
    app_key = api.headers["X-VTEX-API-AppKey"]
    with database.read() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.app_key == app_key))
        assert row is not None
        stored = {column.name: getattr(row, column.key) for column in ApiKey.__mapper__.columns}
        every_row = session.execute(select(ApiKey.__table__)).all()
    assert stored["token_sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert all(token not in str(value) for value in stored.values())
    # Nowhere in the whole table, in any column of any row.
    assert every_row and all(token not in str(value) for row in every_row for value in row)
    assert sorted(stored["resources"]) == sorted([CREATE_ACCOUNTS, READ_ACCOUNTS])
