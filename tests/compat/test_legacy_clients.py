"""Replays of what existing VTEX Customer Credit clients send (issue 13, docs/clients.md).

Each test sends the exact bytes and headers of a real client written against VTEX's spec from
before late 2023 (a merchant's ERP sync script, a VTEX IO B2B app) and checks the status, the
body and the effect, through GET and in the database."""

import json
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from customer_credit.accounts.models import Account
from customer_credit.auth.resources import MAIN_ACCESS
from customer_credit.auth.service import issue_user_token
from customer_credit.stores.models import Store as StoreRow
from tests.contract import assert_matches, is_error_shape
from tests.helpers import open_account

PREFIX = "/api/creditcontrol"
ACCOUNT = f"{PREFIX}/accounts/{{creditAccountId}}"
# What VTEX's own SDKs and Postman collection put on every call.
VTEX_ACCEPT = "application/vnd.vtex.ds.v10+json"
ERP_BODY = b'{"email": "x@y.com", "creditLimit": 1500.5, "document": "12345678900", "id": "12345678900_CPF"}'
ERP_ID = "12345678900_CPF"


def replay(api, method: str, path: str, raw: bytes | None = None, *, headers: dict | None = None):
    """Sends `raw` as is, with the headers such a client sends (its credentials included)."""
    sent = {"Accept": VTEX_ACCEPT, **api.headers, **(headers or {})}
    if raw is not None:
        sent.setdefault("Content-Type", "application/json")
    return api.http.request(method, PREFIX + path, content=raw, headers=sent)


def exact(response):
    """The body with every JSON number as an exact Decimal (never a binary float)."""
    return json.loads(response.text, parse_float=Decimal)


def stored(api, public_id: str) -> SimpleNamespace:
    """The open account's row as the database holds it."""
    with api.store.database.read() as session:
        row = session.scalars(
            select(Account).where(
                Account.store_id == api.store.id, Account.public_id == public_id, Account.status == "Open"
            )
        ).one()
        return SimpleNamespace(
            **{column.key: getattr(row, column.key) for column in Account.__table__.columns}
        )


def all_rows(api) -> list[tuple[str, str, int]]:
    with api.store.database.read() as session:
        rows = session.scalars(select(Account).where(Account.store_id == api.store.id).order_by(Account.id))
        return [(row.public_id, row.status, row.credit_limit_cents) for row in rows]


def statements(api, account_id: str) -> list[dict]:
    response = replay(api, "GET", f"/accounts/{account_id}/statements")
    assert response.status_code == 200, response.text
    return exact(response)["statements"]


def fields_of(response) -> set[str]:
    assert response.status_code == 400, response.text
    assert is_error_shape(response)
    return {detail["field"] for detail in response.json()["error"]["details"]}


# --- POST …/transaction (singular) -----------------------------------------------------------


def test_singular_transaction_creates_a_pre_authorization(api):
    opened = open_account(api, credit_limit="1000")
    raw = b'{"value": 100.1, "settle": true, "installments": 1}'
    response = replay(api, "POST", f"/accounts/{opened['id']}/transaction", raw)
    assert_matches("post", f"{PREFIX}/accounts/{{creditAccountId}}/transactions", response)
    hold = exact(response)
    assert hold["value"] == Decimal("100.1") and hold["installments"] == 1
    assert len(hold["id"]) == 32 and hold["id"] == hold["id"].upper()
    after = exact(replay(api, "GET", f"/accounts/{opened['id']}"))
    assert after["preAuthorizedCredit"] == Decimal("100.1")
    assert after["availableCredit"] == Decimal("899.9")
    # The same answer as the plural route: the hold is a real one, settled like any other.
    plural = replay(api, "POST", f"/accounts/{opened['id']}/transactions", raw)
    assert sorted(exact(plural)) == sorted(hold)
    settled = replay(
        api, "PUT", f"/accounts/{opened['id']}/transactions/{hold['id']}/settlement", b'{"value": 100.1}'
    )
    assert settled.status_code == 200, settled.text
    assert exact(settled) == {"id": hold["id"], "value": Decimal("100.1")}


def test_singular_transaction_refuses_what_the_plural_refuses(api):
    opened = open_account(api, credit_limit="50")
    raw = b'{"value": 100, "settle": true, "installments": 1}'
    response = replay(api, "POST", f"/accounts/{opened['id']}/transaction", raw)
    assert response.status_code == 409 and response.json()["error"]["code"] == "InsufficientCredit"
    assert exact(replay(api, "GET", f"/accounts/{opened['id']}"))["preAuthorizedCredit"] == 0


# --- PUT /accounts/{id} as "open or change" (the ERP sync script) -----------------------------


def test_erp_put_opens_the_account_under_its_id(api):
    response = replay(api, "PUT", f"/accounts/{ERP_ID}", ERP_BODY)
    assert_matches("put", ACCOUNT, response)
    body = exact(response)
    assert body["id"] == ERP_ID
    assert (body["document"], body["documentType"], body["email"]) == ("12345678900", "CPF", "x@y.com")
    assert body["creditLimit"] == Decimal("1500.5") and body["availableCredit"] == Decimal("1500.5")
    assert body["tolerance"] == 0 and body["status"] == "Open"
    assert exact(replay(api, "GET", f"/accounts/{ERP_ID}")) == body
    account = stored(api, ERP_ID)
    assert (account.credit_limit_cents, account.document_type) == (150050, "CPF")
    assert statements(api, ERP_ID) == []  # opening writes no ledger entry (domain.md)


def test_erp_put_changes_the_account_when_it_exists(api):
    opened = open_account(api, credit_limit="1000", document="12345678900", email="old@y.com")
    assert opened["id"] == ERP_ID
    response = replay(api, "PUT", f"/accounts/{ERP_ID}", ERP_BODY)
    assert_matches("put", ACCOUNT, response)
    body = exact(response)
    assert (body["email"], body["creditLimit"], body["createdAt"]) == (
        "x@y.com",
        Decimal("1500.5"),
        opened["createdAt"],
    )
    # A limit change writes its Credit entry: (1500.5 − 1000) × (1 + 0).
    assert [(e["origin"], e["value"]) for e in statements(api, ERP_ID)] == [("Credit", Decimal("500.5"))]
    # The nightly sync sends the same body again: nothing more changes.
    again = replay(api, "PUT", f"/accounts/{ERP_ID}", ERP_BODY)
    assert again.status_code == 200, again.text
    assert len(statements(api, ERP_ID)) == 1
    assert all_rows(api) == [(ERP_ID, "Open", 150050)]


@pytest.mark.parametrize(
    ("account_id", "document", "document_type"),
    [
        ("11222333000181_CNPJ", "11222333000181", "CNPJ"),
        ("A-77_Other", "A-77", "Other"),
        # Not {document}_{TYPE}: a type is never guessed from the digits.
        ("erp-4711", "12345678900", "Other"),
        ("99999999999_CPF", "12345678900", "Other"),
    ],
)
def test_open_or_change_takes_the_document_type_from_the_id(api, account_id, document, document_type):
    raw = json.dumps({"email": "x@y.com", "creditLimit": 10, "document": document, "id": account_id})
    response = replay(api, "PUT", f"/accounts/{account_id}", raw.encode())
    assert_matches("put", ACCOUNT, response)
    assert exact(response)["documentType"] == document_type
    assert stored(api, account_id).document_type == document_type


def test_open_or_change_keeps_the_type_of_an_account_whose_id_says_none(api):
    console_id = "fe60ff40-d1cb-11ee-a0ed-87f4fcc03446"
    raw = b'{"email": "x@y.com", "document": "12345678900", "id": "%s", "documentType": "CNPJ"}' % (
        console_id.encode()
    )
    assert replay(api, "PUT", f"/accounts/{console_id}", raw).status_code == 200
    change = b'{"email": "new@y.com", "document": "12345678900", "id": "%s", "tolerance": "1"}' % (
        console_id.encode()
    )
    response = replay(api, "PUT", f"/accounts/{console_id}", change)
    assert_matches("put", ACCOUNT, response)
    body = exact(response)
    assert (body["documentType"], body["email"], body["tolerance"]) == ("CNPJ", "new@y.com", 1)


def test_open_or_change_with_optional_tolerance_and_description(api):
    raw = (
        b'{"id": "12345678900_CPF", "email": "x@y.com", "document": "12345678900", '
        b'"creditLimit": 1500.5, "tolerance": "1", "description": "ERP customer 4711"}'
    )
    response = replay(api, "PUT", f"/accounts/{ERP_ID}", raw)
    assert_matches("put", ACCOUNT, response)
    body = exact(response)
    assert (body["tolerance"], body["description"]) == (1, "ERP customer 4711")
    assert stored(api, ERP_ID).tolerance_units == 10000


def test_open_or_change_reopens_a_closed_id(api):
    opened = open_account(api, document="12345678900")
    assert replay(api, "DELETE", f"/accounts/{opened['id']}").status_code == 200
    response = replay(api, "PUT", f"/accounts/{ERP_ID}", ERP_BODY)
    assert_matches("put", ACCOUNT, response)
    assert exact(response)["status"] == "Open"
    # The closed account stays for audit; the id now names the new one.
    assert [(public_id, status) for public_id, status, _ in all_rows(api)] == [
        (ERP_ID, "Closed"),
        (ERP_ID, "Open"),
    ]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"email": "x@y.com", "document": "12345678900", "id": "12345678901_CPF"}', "id"),
        (b'{"email": "x@y.com", "document": "12345678900", "id": null}', "id"),
        (b'{"document": "12345678900", "id": "12345678900_CPF"}', "email"),
        (b'{"email": "x@y.com", "id": "12345678900_CPF"}', "document"),
        (b'{"email": "x@y.com", "document": "1/2", "id": "12345678900_CPF"}', "document"),
        (
            b'{"email": "x@y.com", "document": "12345678900", "id": "12345678900_CPF", "creditLimit": 0.001}',
            "creditLimit",
        ),
        (
            b'{"email": "x@y.com", "document": "12345678900", "id": "12345678900_CPF", "tolerance": "2"}',
            "tolerance",
        ),
    ],
)
def test_open_or_change_names_the_bad_field_and_changes_nothing(api, raw, field):
    assert field in fields_of(replay(api, "PUT", f"/accounts/{ERP_ID}", raw))
    assert replay(api, "GET", f"/accounts/{ERP_ID}").status_code == 404


def test_open_or_change_needs_the_right_to_open_accounts(store):
    reader = store.api(resources=("Read Checking Accounts",))
    response = replay(reader, "PUT", f"/accounts/{ERP_ID}", ERP_BODY)
    assert response.status_code == 403 and is_error_shape(response)


def test_the_contract_update_of_an_unknown_account_is_still_a_404(api):
    raw = b'{"email": "x@y.com", "document": "12345678900", "documentType": "CPF"}'
    response = replay(api, "PUT", f"/accounts/{ERP_ID}", raw)
    assert response.status_code == 404 and response.json()["error"]["code"] == "AccountNotFound"


# --- PUT /accounts/{id} as "update e-mail and description" ------------------------------------


def test_update_email_and_description(api):
    opened = open_account(api, credit_limit="1000", email="old@y.com")
    raw = b'{"description": "B2B buyer, net 30", "email": "buyer@y.com"}'
    response = replay(api, "PUT", f"/accounts/{opened['id']}", raw)
    assert_matches("put", ACCOUNT, response)
    body = exact(response)
    assert (body["description"], body["email"]) == ("B2B buyer, net 30", "buyer@y.com")
    assert (body["document"], body["documentType"], body["creditLimit"]) == (
        opened["document"],
        "CPF",
        Decimal("1000"),
    )
    fetched = exact(replay(api, "GET", f"/accounts/{opened['id']}"))
    assert (fetched["description"], fetched["email"]) == ("B2B buyer, net 30", "buyer@y.com")
    assert stored(api, opened["id"]).description == "B2B buyer, net 30"
    assert statements(api, opened["id"]) == []


def test_update_description_alone_and_clear_it_with_null(api):
    opened = open_account(api, email="keep@y.com")
    assert replay(api, "PUT", f"/accounts/{opened['id']}", b'{"description": "first"}').status_code == 200
    assert exact(replay(api, "GET", f"/accounts/{opened['id']}"))["description"] == "first"
    cleared = replay(api, "PUT", f"/accounts/{opened['id']}", b'{"description": null}')
    assert_matches("put", ACCOUNT, cleared)
    assert "description" not in exact(cleared)  # the contract types it as a string: left out
    assert stored(api, opened["id"]).description is None
    assert stored(api, opened["id"]).email == "keep@y.com"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"{}", "email"),
        (b'{"email": null, "description": "x"}', "email"),
        (b'{"email": "nobody", "description": "x"}', "email"),
        (b'{"email": "x@y.com", "description": "a\\u0007b"}', "description"),
        (b'{"email": "x@y.com", "description": 5}', "description"),
    ],
)
def test_update_email_and_description_names_the_bad_field(api, raw, field):
    opened = open_account(api, email="keep@y.com")
    assert field in fields_of(replay(api, "PUT", f"/accounts/{opened['id']}", raw))
    assert stored(api, opened["id"]).email == "keep@y.com"


def test_update_email_and_description_of_an_unknown_account_is_a_404(api):
    response = replay(api, "PUT", "/accounts/nobody_CPF", b'{"description": "x", "email": "x@y.com"}')
    assert response.status_code == 404 and is_error_shape(response)


# --- headers and numbers real clients send (the VTEX IO B2B app) -------------------------------


def test_b2b_app_opens_and_changes_with_vnd_accept_string_tolerance_and_floats(api):
    headers = {"Accept": VTEX_ACCEPT, "Content-Type": "application/json; charset=utf-8"}
    raw = (
        b'{"document": "11222333000181", "documentType": "CNPJ", "email": "buyer@b2b.example", '
        b'"creditLimit": 2500.75, "tolerance": "1"}'
    )
    opened = replay(api, "POST", "/accounts", raw, headers=headers)
    assert_matches("post", f"{PREFIX}/accounts", opened)
    assert opened.headers["content-type"].startswith("application/json")
    body = exact(opened)
    assert (body["creditLimit"], body["tolerance"]) == (Decimal("2500.75"), 1)
    account_id = body["id"]
    for path, raw_value, field, expected in (
        ("creditlimit", b'{"value": 3000.1}', "creditLimit", Decimal("3000.1")),
        ("tolerance", b'{"value": "0.5"}', "tolerance", Decimal("0.5")),
    ):
        response = replay(api, "PUT", f"/accounts/{account_id}/{path}", raw_value, headers=headers)
        assert response.status_code == 200, response.text
        assert exact(response)[field] == expected
    assert stored(api, account_id).credit_limit_cents == 300010
    searched = replay(api, "GET", "/accounts?an=b2bstore&email=buyer%40b2b.example", headers=headers)
    assert searched.status_code == 200, searched.text
    assert [row["id"] for row in exact(searched)["data"]] == [account_id]


def test_vnd_content_type_is_json_too(api):
    raw = b'{"document": "12345678900", "documentType": "CPF", "email": "x@y.com", "creditLimit": 0.1}'
    response = replay(api, "POST", "/accounts", raw, headers={"Content-Type": VTEX_ACCEPT})
    assert response.status_code == 200, response.text
    assert exact(response)["creditLimit"] == Decimal("0.1")


def test_user_token_cookie_like_the_my_account_pages(store, database, settings):
    with database.read() as session:
        row = session.get(StoreRow, store.id)
        token = issue_user_token(
            settings.resolved_secret_key(), row, "ops@y.com", [MAIN_ACCESS], timedelta(hours=1)
        )
    response = store.http.request(
        "PUT",
        f"{PREFIX}/accounts/{ERP_ID}",
        content=ERP_BODY,
        headers={
            "Accept": VTEX_ACCEPT,
            "Content-Type": "application/json",
            "Cookie": f"VtexIdclientAutCookie={token}",
        },
    )
    assert response.status_code == 200, response.text
    assert exact(response)["creditLimit"] == Decimal("1500.5")


# --- the account search filters --------------------------------------------------------------


@pytest.fixture
def three_accounts(api):
    first = open_account(api, document="12345678900")
    second = open_account(api, document="98765432100")
    company = replay(
        api,
        "POST",
        "/accounts",
        b'{"document": "12345678900", "documentType": "CNPJ", "email": "co@y.com"}',
    )
    assert company.status_code == 200, company.text
    return first, second, company.json()


def ids_of(response) -> list[str]:
    assert_matches("get", f"{PREFIX}/accounts", response)
    return [row["id"] for row in response.json()["data"]]


def test_search_by_document(api, three_accounts):
    first, _second, company = three_accounts
    response = replay(api, "GET", "/accounts?document=12345678900")
    assert sorted(ids_of(response)) == sorted([first["id"], company["id"]])
    assert response.json()["summary"]["count"] == 2
    only_cpf = replay(api, "GET", "/accounts?document=12345678900&documentType=CPF")
    assert ids_of(only_cpf) == [first["id"]]
    assert ids_of(replay(api, "GET", "/accounts?documentType=CNPJ")) == [company["id"]]
    assert ids_of(replay(api, "GET", "/accounts?document=00000000000")) == []
    assert ids_of(replay(api, "GET", "/accounts?document=%27%20OR%20%271%27%3D%271")) == []


def test_search_with_the_parameters_vtex_clients_add(api, three_accounts):
    first, _second, _company = three_accounts
    response = replay(
        api, "GET", "/accounts?an=mystore&_=1700000000000&sc=1&document=12345678900&documentType=CPF"
    )
    assert ids_of(response) == [first["id"]]
    assert len(ids_of(replay(api, "GET", "/accounts?an=mystore"))) == 3


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("doc=12345678900", ["doc"]),
        ("Document=12345678900&cpf=1", ["Document", "cpf"]),
        ("an=mystore&creditAccountId=12345678900_CPF", ["creditAccountId"]),
    ],
)
def test_search_refuses_unknown_parameters_naming_them(api, three_accounts, query, named):
    response = replay(api, "GET", f"/accounts?{query}")
    assert fields_of(response) == set(named)
    assert response.json()["error"]["code"] == "UnknownQueryParameter"


@pytest.mark.parametrize(
    ("query", "field"), [("documentType=cpf", "documentType"), ("document=a%07b", "document")]
)
def test_search_names_a_bad_document_filter(api, query, field):
    assert field in fields_of(replay(api, "GET", f"/accounts?{query}"))
