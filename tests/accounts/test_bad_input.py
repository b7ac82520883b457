"""Bad input to the account, holder, credit limit, tolerance, store configuration and statement
operations: each gets its 4xx in the one error shape, and a 400 names the offending field."""

import json
import uuid
from decimal import Decimal

import pytest

from tests.contract import is_error_shape
from tests.helpers import FULL_CONFIG, open_account


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert is_error_shape(response), response.text
    return response.json()["error"]


def fields_of(response) -> set[str]:
    return {detail.get("field") for detail in error_of(response, 400)["details"]}


def assert_names(response, field: str) -> None:
    named = fields_of(response)
    assert field in named, f"expected {field!r} among {named}: {response.text}"


def new_document() -> str:
    return str(uuid.uuid4().int)[:11]


# --- one valid body per operation, to break one field at a time ----------------------------


def _open_body(_account):
    document = new_document()
    return {
        "document": document,
        "documentType": "CPF",
        "email": f"{document}@example.com",
        "creditLimit": "100",
        "tolerance": "0.1",
    }


def _update_body(account):
    return {"email": account["email"], "document": account["document"], "documentType": "CPF"}


def _close_body(account):
    return {"document": account["document"], "documentType": "CPF", "email": account["email"]}


OPERATIONS = {
    # name: (method, path for an account id, valid body builder, required fields)
    "open": ("POST", lambda a: "/accounts", _open_body, ["document", "documentType", "email"]),
    "update": ("PUT", lambda a: f"/accounts/{a['id']}", _update_body, ["email", "document", "documentType"]),
    "close": ("DELETE", lambda a: f"/accounts/{a['id']}", _close_body, []),
    "creditlimit": (
        "PUT",
        lambda a: f"/accounts/{a['id']}/creditlimit",
        lambda a: {"value": "500"},
        ["value"],
    ),
    "tolerance": ("PUT", lambda a: f"/accounts/{a['id']}/tolerance", lambda a: {"value": "0.2"}, ["value"]),
    "holder": (
        "POST",
        lambda a: f"/accounts/{a['id']}/holders",
        lambda a: {"claims": {"email": f"h-{uuid.uuid4().hex[:8]}@example.com"}},
        ["claims"],
    ),
    "storeconfig": ("PUT", lambda a: "/storeconfig", lambda a: dict(FULL_CONFIG), list(FULL_CONFIG)),
    "statement": (
        "PUT",
        lambda a: f"/accounts/{a['id']}/statements/{uuid.uuid4().hex}",
        lambda a: {"value": "-15"},
        ["value"],
    ),
}


@pytest.fixture
def acct(api):
    return open_account(api, credit_limit="1000", tolerance="0.1")


def send(api, operation: str, acct, body=None, *, raw=None, headers=None):
    method, path, build, _required = OPERATIONS[operation]
    if raw is not None:
        return api.request(
            method, path(acct), content=raw, headers={"content-type": "application/json", **(headers or {})}
        )
    return api.request(method, path(acct), json=build(acct) if body is None else body, headers=headers)


def assert_untouched(api, acct):
    now = api.get(f"/accounts/{acct['id']}").json()
    assert now["status"] == "Open"
    assert now["creditLimit"] == acct["creditLimit"]
    assert now["tolerance"] == acct["tolerance"]
    assert now["balance"] == acct["balance"]
    assert now["email"] == acct["email"]
    assert now["document"] == acct["document"]
    assert api.get(f"/accounts/{acct['id']}/statements").json()["statements"] == []


# --- the valid bodies really are valid (so each failure below is the one broken field) -----


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_valid_body_succeeds(api, acct, operation):
    response = send(api, operation, acct)
    assert response.status_code == 200, response.text


# --- missing, extra and wrong-typed fields -------------------------------------------------


MISSING = [(operation, field) for operation, spec in OPERATIONS.items() for field in spec[3]]


@pytest.mark.parametrize(("operation", "field"), MISSING)
def test_missing_field(api, acct, operation, field):
    body = OPERATIONS[operation][2](acct)
    del body[field]
    assert_names(send(api, operation, acct, body), field)
    assert_untouched(api, acct)


def test_missing_holder_email(api, acct):
    assert_names(send(api, "holder", acct, {"claims": {}}), "claims.email")


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_extra_field(api, acct, operation):
    body = {**OPERATIONS[operation][2](acct), "unexpectedField": 1}
    assert_names(send(api, operation, acct, body), "unexpectedField")
    assert_untouched(api, acct)


def test_extra_field_inside_holder_claims(api, acct):
    body = {"claims": {"email": "x@example.com", "level": 1}}
    assert_names(send(api, "holder", acct, body), "claims.level")


WRONG_TYPES = [
    ("open", "document", 12345678901),
    ("open", "document", None),
    ("open", "documentType", "RG"),
    ("open", "documentType", 1),
    ("open", "email", ["a@example.com"]),
    ("open", "email", "not-an-email"),
    ("open", "creditLimit", True),
    ("open", "creditLimit", "abc"),
    ("open", "creditLimit", {"amount": 1}),
    ("open", "tolerance", "ten percent"),
    ("open", "tolerance", False),
    ("update", "email", 5),
    ("update", "email", "nobody"),
    ("update", "document", {"n": 1}),
    ("update", "documentType", "cpf"),
    ("update", "creditLimit", "lots"),
    ("update", "tolerance", []),
    ("close", "document", 123),
    ("close", "documentType", "Passport"),
    ("close", "email", True),
    ("creditlimit", "value", "abc"),
    ("creditlimit", "value", True),
    ("creditlimit", "value", None),
    ("creditlimit", "value", [100]),
    ("tolerance", "value", "x"),
    ("tolerance", "value", None),
    ("tolerance", "value", {"v": 0.1}),
    ("holder", "claims", "a@example.com"),
    ("holder", "claims", None),
    ("statement", "value", "fifteen"),
    ("statement", "value", None),
    ("statement", "value", True),
    ("storeconfig", "dailyInterestRate", "high"),
    ("storeconfig", "invoicePostponementLimit", "two"),
    ("storeconfig", "defaultCreditValue", False),
    ("storeconfig", "myCreditsEnabled", "true"),
    ("storeconfig", "toleranceEnabled", 1),
    ("storeconfig", "postponementEnabled", None),
    ("storeconfig", "automaticCheckingAccountCreationEnabled", "yes"),
    ("storeconfig", "notificationsSettings", "daily"),
]


@pytest.mark.parametrize(("operation", "field", "value"), WRONG_TYPES)
def test_wrong_typed_field(api, acct, operation, field, value):
    body = {**OPERATIONS[operation][2](acct), field: value}
    assert_names(send(api, operation, acct, body), field)
    assert_untouched(api, acct)


def test_wrong_typed_holder_email(api, acct):
    for email in (42, None, "no-at-sign", "two@@example.com"):
        assert_names(send(api, "holder", acct, {"claims": {"email": email}}), "claims.email")


# --- amounts and rates ---------------------------------------------------------------------


BAD_NUMBERS = [
    # negative or too precise amounts
    ("open", "creditLimit", -1),
    ("open", "creditLimit", "-0.01"),
    ("open", "creditLimit", "10.001"),
    ("open", "creditLimit", 10.001),
    ("update", "creditLimit", -5),
    ("update", "creditLimit", "1.999"),
    ("creditlimit", "value", -1),
    ("creditlimit", "value", "100.005"),
    ("creditlimit", "value", "1e30"),
    ("statement", "value", "-1.001"),
    ("statement", "value", "0.001"),
    ("statement", "value", 0),
    ("storeconfig", "defaultCreditValue", -1),
    ("storeconfig", "defaultCreditValue", "0.001"),
    # tolerance outside 0..1 or beyond 4 places
    ("open", "tolerance", -0.1),
    ("open", "tolerance", "1.01"),
    ("open", "tolerance", 2),
    ("open", "tolerance", "0.00001"),
    ("update", "tolerance", "1.5"),
    ("update", "tolerance", -1),
    ("tolerance", "value", -0.01),
    ("tolerance", "value", 1.0001),
    ("tolerance", "value", "5"),
    ("tolerance", "value", "0.123456"),
    # non-finite numbers sent as strings
    ("open", "creditLimit", "NaN"),
    ("creditlimit", "value", "Infinity"),
    ("creditlimit", "value", "-Infinity"),
    ("tolerance", "value", "NaN"),
    ("statement", "value", "NaN"),
    ("storeconfig", "taxRate", "Infinity"),
]


@pytest.mark.parametrize(("operation", "field", "value"), BAD_NUMBERS)
def test_bad_number(api, acct, operation, field, value):
    body = {**OPERATIONS[operation][2](acct), field: value}
    assert_names(send(api, operation, acct, body), field)
    assert_untouched(api, acct)


RAW_NON_FINITE = [
    ("creditlimit", '{"value": NaN}', "value"),
    ("creditlimit", '{"value": Infinity}', "value"),
    ("tolerance", '{"value": NaN}', "value"),
    ("statement", '{"value": -Infinity}', "value"),
    (
        "open",
        '{"document": "123", "documentType": "CPF", "email": "a@example.com", "creditLimit": NaN}',
        "creditLimit",
    ),
]


@pytest.mark.parametrize(("operation", "raw", "field"), RAW_NON_FINITE)
def test_raw_non_finite_json_number(api, acct, operation, raw, field):
    """NaN and Infinity are not JSON, but Python-made clients send them: 400 naming the field."""
    assert_names(send(api, operation, acct, raw=raw), field)
    assert_untouched(api, acct)


def test_raw_nan_in_storeconfig(api, acct):
    raw = json.dumps({**FULL_CONFIG, "taxRate": float("nan")})
    assert "NaN" in raw
    assert_names(send(api, "storeconfig", acct, raw=raw), "taxRate")
    assert api.get("/storeconfig").json()["taxRate"] == 0


def test_rejected_amount_leaves_no_trace(api, acct):
    """A refused amount changes nothing: no limit change, no Credit entry."""
    assert send(api, "creditlimit", acct, {"value": "-100"}).status_code == 400
    assert send(api, "tolerance", acct, {"value": "1.2"}).status_code == 400
    now = api.get(f"/accounts/{acct['id']}").json()
    assert Decimal(str(now["creditLimit"])) == Decimal("1000")
    assert Decimal(str(now["tolerance"])) == Decimal("0.1")
    assert api.get(f"/accounts/{acct['id']}/statements").json()["statements"] == []


# --- query parameters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "first"}, "from"),
        ({"from": 0, "to": 5}, "from"),
        ({"from": 1, "to": "ten"}, "to"),
        ({"from": 5, "to": 2}, "to"),
        ({"from": 1, "to": 1001}, "to"),
        ({"status": "Active"}, "status"),
    ],
)
def test_bad_account_search_parameters(api, acct, params, field):
    assert_names(api.get("/accounts", params=params), field)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"dateFrom": "yesterday"}, "dateFrom"),
        ({"dateTo": "2024-13-01"}, "dateTo"),
        ({"dateFrom": "2024-02-30"}, "dateFrom"),
        ({"from": "x"}, "from"),
        ({"from": 1, "to": 1001}, "to"),
    ],
)
def test_bad_statement_parameters(api, acct, params, field):
    assert_names(api.get(f"/accounts/{acct['id']}/statements", params=params), field)


def test_bad_statement_id(api, acct):
    response = api.put(f"/accounts/{acct['id']}/statements/{'x' * 300}", json={"value": "-1"})
    assert_names(response, "statementId")
    assert_untouched(api, acct)


# --- unknown ids ---------------------------------------------------------------------------

UNKNOWN_ACCOUNT_CALLS = [
    ("GET", "/accounts/{id}", None),
    ("PUT", "/accounts/{id}", {"email": "a@example.com", "document": "1", "documentType": "CPF"}),
    ("DELETE", "/accounts/{id}", None),
    ("PUT", "/accounts/{id}/creditlimit", {"value": 10}),
    ("PUT", "/accounts/{id}/tolerance", {"value": 0.1}),
    ("POST", "/accounts/{id}/holders", {"claims": {"email": "a@example.com"}}),
    ("DELETE", "/accounts/{id}/holders/0123456789abcdef0123456789abcdef", None),
    ("GET", "/accounts/{id}/statements", None),
    ("PUT", "/accounts/{id}/statements/s-1", {"value": "-1"}),
]


@pytest.mark.parametrize(("method", "path", "body"), UNKNOWN_ACCOUNT_CALLS)
def test_unknown_account_is_404(api, acct, method, path, body):
    kwargs = {"json": body} if body is not None else {}
    response = api.request(method, path.format(id="99999999999_CPF"), **kwargs)
    error_of(response, 404)


def test_unknown_holder_is_404(api, acct):
    response = api.delete(f"/accounts/{acct['id']}/holders/0123456789abcdef0123456789abcdef")
    error_of(response, 404)
    response = api.delete(f"/accounts/{acct['id']}/holders/not-a-holder")
    assert response.status_code in (400, 404)
    assert is_error_shape(response)


# --- malformed bodies, media types, routes and methods -------------------------------------


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_malformed_json(api, acct, operation):
    for raw in ('{"value": ', "{'value': 1}", '{"value": 1,}', "tru"):
        error = error_of(send(api, operation, acct, raw=raw), 400)
        assert error["code"] == "MalformedJson", raw
    assert_untouched(api, acct)


@pytest.mark.parametrize("operation", [name for name in OPERATIONS if name != "close"])
def test_body_that_is_not_an_object(api, acct, operation):
    for raw in ("[1, 2]", "null", '"text"', ""):
        response = send(api, operation, acct, raw=raw)
        error_of(response, 400)
    assert_untouched(api, acct)


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_non_json_content_type(api, acct, operation):
    method, path, build, _ = OPERATIONS[operation]
    for content_type, content in (
        ("text/plain", json.dumps(build(acct))),
        ("application/x-www-form-urlencoded", "value=1"),
        ("application/xml", "<value>1</value>"),
    ):
        response = api.request(method, path(acct), content=content, headers={"content-type": content_type})
        error = error_of(response, 415)
        assert error["code"] == "UnsupportedMediaType"
    assert_untouched(api, acct)


def test_json_with_charset_is_accepted(api, acct):
    response = api.put(
        f"/accounts/{acct['id']}/creditlimit",
        content=b'{"value": "1500"}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/creditcontrol/nothing"),
        ("GET", "/api/creditcontrol/accounts/x/y/z"),
        ("POST", "/api/creditcontrol/accounts/x/holders/y/z"),
        ("PUT", "/api/creditcontrol/store-config"),
        ("GET", "/nowhere"),
    ],
)
def test_unknown_route_is_404_in_error_shape(api, method, path):
    response = api.http.request(method, path, headers=api.headers, json={})
    error_of(response, 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/accounts/{id}"),
        ("POST", "/accounts/{id}"),
        ("DELETE", "/accounts"),
        ("GET", "/accounts/{id}/creditlimit"),
        ("POST", "/accounts/{id}/tolerance"),
        ("GET", "/accounts/{id}/holders"),
        ("POST", "/accounts/{id}/statements"),
        ("POST", "/storeconfig"),
        ("DELETE", "/storeconfig"),
    ],
)
def test_wrong_method_is_405_in_error_shape(api, acct, method, path):
    response = api.request(method, path.format(id=acct["id"]), json={})
    error_of(response, 405)
    assert_untouched(api, acct)
