"""Tenant isolation for every operation of the contract: a credential of store B gets 404
(or, for searches, an empty result) for anything of store A, exactly as for an id that does
not exist, and store A's data is unchanged afterwards."""

import re
import uuid

import pytest

from tests.contract import is_error_shape, operations
from tests.helpers import configure, hold, open_account, purchase

P = "/api/creditcontrol"
A = f"{P}/accounts/{{creditAccountId}}"

POSTPONABLE = {"postponementEnabled": True, "invoicePostponementLimit": 2, "maxPostponementDays": 30}


@pytest.fixture
def world(api):
    """Store A: a configured store, an account with a holder, two invoices, a live hold and a
    manual debit."""
    configure(api, defaultCreditValue="777", toleranceEnabled=True, **POSTPONABLE)
    account = open_account(api, credit_limit="1000", tolerance="0.1")
    holder_email = f"holder-{uuid.uuid4().hex[:10]}@example.com"
    holder = api.post(f"/accounts/{account['id']}/holders", json={"claims": {"email": holder_email}})
    assert holder.status_code == 200, holder.text
    transaction_id = purchase(api, account["id"], "100", installments=2)
    live = hold(api, account["id"], "30", settle=True)
    assert live.status_code == 200, live.text
    statement_id = uuid.uuid4().hex
    debit = api.put(f"/accounts/{account['id']}/statements/{statement_id}", json={"value": "-5"})
    assert debit.status_code == 200, debit.text
    return {
        "account": account,
        "creditAccountId": account["id"],
        "holderId": holder.json()["id"],
        "holderEmail": holder_email,
        "transactionId": transaction_id,
        "invoiceId": f"{transaction_id}-01",
        "liveTransactionId": live.json()["id"],
        "statementId": statement_id,
    }


def snapshot(api, world) -> dict:
    """Everything store A can see about its data."""
    account_id = world["creditAccountId"]
    reads = {
        "account": f"/accounts/{account_id}",
        "statements": f"/accounts/{account_id}/statements",
        "invoices": f"/accounts/{account_id}/invoices",
        "all_invoices": f"/invoices?creditAccountId={account_id}",
        "by_holder": f"/accounts?email={world['holderEmail']}",
        "accounts": "/accounts",
        "config": "/storeconfig",
    }
    seen = {}
    for name, path in reads.items():
        response = api.get(path)
        assert response.status_code == 200, (name, response.text)
        seen[name] = response.json()
    return seen


def fill(path: str, ids: dict) -> str:
    return path.format(**{name: ids[name] for name in re.findall(r"{(\w+)}", path)})


def assert_as_if_missing(other_api, method: str, path: str, ids: dict, unknown: dict, body=None):
    """B's answer for A's ids is a 404, the same as for ids that exist nowhere."""
    kwargs = {"json": body} if body is not None else {}
    response = other_api.request(method, fill(path, ids), **kwargs)
    assert response.status_code == 404, (method, fill(path, ids), response.text)
    assert is_error_shape(response)
    missing = other_api.request(method, fill(path, unknown), **kwargs)
    assert missing.status_code == 404, missing.text
    assert response.json()["error"]["code"] == missing.json()["error"]["code"]
    assert world_id_not_leaked(response, ids)


def world_id_not_leaked(response, ids) -> bool:
    """A 404 may echo the id that was asked for, but never A's other data (e.g. its e-mail)."""
    return "@" not in response.json()["error"]["message"]


def unknown_ids() -> dict:
    tid = uuid.uuid4().hex.upper()
    return {
        "creditAccountId": f"{uuid.uuid4().int % 10**11}_CPF",
        "invoiceId": f"{tid}-01",
        "transactionId": tid,
        "holderId": uuid.uuid4().hex,
        "statementId": uuid.uuid4().hex,
    }


def a_ids(world) -> dict:
    return {
        name: world[name]
        for name in ("creditAccountId", "invoiceId", "transactionId", "holderId", "statementId")
    }


def b_account_with_a_subids(other_api, world) -> dict:
    """B's own account, combined with A's invoice/transaction/holder ids."""
    own = open_account(other_api, credit_limit="1000")
    return {**a_ids(world), "creditAccountId": own["id"]}


# Operations addressed by ids: (method, path, body, whether a sub-id of A can be tried on B's
# own account). The body is valid, so the only reason to refuse is that the ids are not B's.
BY_ID = {
    ("get", f"{A}/invoices/{{invoiceId}}"): (None, True),
    ("put", f"{A}/invoices/{{invoiceId}}"): ({"status": "Paid"}, True),
    ("delete", f"{A}/invoices/{{invoiceId}}"): (None, True),
    ("get", f"{A}/invoices"): (None, False),
    ("post", f"{A}/invoices/{{invoiceId}}/payments"): (None, True),
    ("put", f"{A}/invoices/{{invoiceId}}/postponement"): ({"dueDays": 3}, True),
    ("get", A): (None, False),
    ("delete", A): (None, False),
    ("put", A): ({"email": "thief@example.com", "document": "1", "documentType": "Other"}, False),
    ("get", f"{A}/statements"): (None, False),
    ("put", f"{A}/creditlimit"): ({"value": 99999}, False),
    ("put", f"{A}/statements/{{statementId}}"): ({"value": "-500"}, False),
    ("put", f"{A}/transactions/{{transactionId}}/settlement"): ({"value": 100}, True),
    ("post", f"{A}/transactions"): ({"value": 10, "settle": True, "installments": 1}, False),
    ("put", f"{A}/transactions/{{transactionId}}"): ({"value": 20, "settle": True, "installments": 1}, False),
    ("delete", f"{A}/transactions/{{transactionId}}"): (None, True),
    ("post", f"{A}/holders"): ({"claims": {"email": f"{uuid.uuid4().hex}@example.com"}}, False),
    ("delete", f"{A}/holders/{{holderId}}"): (None, True),
    ("put", f"{A}/tolerance"): ({"value": 0.9}, False),
    ("post", f"{A}/transactions/{{transactionId}}/refunds"): ({"value": 10}, True),
}

# The live hold, not the settled purchase, is the one these act on.
USES_LIVE_HOLD = {
    ("put", f"{A}/transactions/{{transactionId}}/settlement"),
    ("put", f"{A}/transactions/{{transactionId}}"),
    ("delete", f"{A}/transactions/{{transactionId}}"),
}

NOT_BY_ID = {
    ("get", f"{P}/invoices"),
    ("get", f"{P}/accounts"),
    ("post", f"{P}/accounts"),
    ("get", f"{P}/storeconfig"),
    ("put", f"{P}/storeconfig"),
}


def _op_id(operation) -> str:
    method, path = operation
    return f"{method.upper()} {path.removeprefix(P) or '/'}"


def test_every_operation_is_covered():
    assert len(operations()) == 25
    assert set(BY_ID) | NOT_BY_ID == set(operations())
    assert not set(BY_ID) & NOT_BY_ID


@pytest.mark.parametrize("operation", sorted(BY_ID), ids=_op_id)
def test_ids_of_another_store_are_not_found(api, other_api, world, operation):
    method, path = operation
    body, try_on_own_account = BY_ID[operation]
    configure(other_api, **POSTPONABLE)  # so that B's refusal can only be about the ids
    before = snapshot(api, world)
    ids = a_ids(world)
    if operation in USES_LIVE_HOLD:
        ids["transactionId"] = world["liveTransactionId"]

    assert_as_if_missing(other_api, method.upper(), path, ids, unknown_ids(), body)
    if try_on_own_account:
        mixed = {**b_account_with_a_subids(other_api, world), "transactionId": ids["transactionId"]}
        unknown = {**unknown_ids(), "creditAccountId": mixed["creditAccountId"]}
        assert_as_if_missing(other_api, method.upper(), path, mixed, unknown, body)

    assert snapshot(api, world) == before


def test_search_accounts_of_another_store_is_empty(api, other_api, world):
    before = snapshot(api, world)
    for params in (
        {},
        {"email": world["account"]["email"]},
        {"email": world["holderEmail"]},
        {"status": "Open"},
        {"status": "Closed"},
        {"from": 1, "to": 1000},
    ):
        response = other_api.get("/accounts", params=params)
        assert response.status_code == 200, response.text
        assert response.json() == {"data": [], "summary": {"count": 0}}, params
    assert snapshot(api, world) == before


def test_search_invoices_of_another_store_is_empty(api, other_api, world):
    before = snapshot(api, world)
    for params in (
        {"creditAccountId": world["creditAccountId"]},
        {"creditAccountId": world["creditAccountId"], "status": "Opened"},
        {"friendlyId": before["invoices"]["data"][0]["friendlyId"]},
        {"value": "50", "op": "or", "status": "Opened"},
    ):
        response = other_api.get("/invoices", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["data"] == [], params
        assert body["summary"]["count"] == 0
        assert body["summary"]["total"] == 0
    assert snapshot(api, world) == before


def test_open_in_another_store_with_the_same_document(api, other_api, world):
    """Account ids are per store: B opening "the same" customer is a new account of B's."""
    before = snapshot(api, world)
    account = world["account"]
    response = other_api.post(
        "/accounts",
        json={
            "document": account["document"],
            "documentType": account["documentType"],
            "email": "b-store@example.com",
            "creditLimit": "5",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["id"] == account["id"]
    assert response.json()["creditLimit"] == 5
    assert other_api.get(f"/accounts/{account['id']}").json()["email"] == "b-store@example.com"
    assert snapshot(api, world) == before
    # And B's new account changes nothing of A's when B changes it.
    assert other_api.put(f"/accounts/{account['id']}/creditlimit", json={"value": 50}).status_code == 200
    assert other_api.delete(f"/accounts/{account['id']}").status_code == 200
    assert snapshot(api, world) == before


def test_holder_email_rule_is_per_store(api, other_api, world):
    before = snapshot(api, world)
    own = open_account(other_api)
    response = other_api.post(
        f"/accounts/{own['id']}/holders", json={"claims": {"email": world["holderEmail"]}}
    )
    assert response.status_code == 200, response.text
    assert snapshot(api, world) == before


def test_transaction_ids_are_per_store(api, other_api, world):
    """B may use an id that A also uses for its own hold; A's hold is untouched."""
    before = snapshot(api, world)
    own = open_account(other_api, credit_limit="100")
    response = other_api.put(
        f"/accounts/{own['id']}/transactions/{world['liveTransactionId']}",
        json={"value": 20, "settle": False, "installments": 1},
    )
    assert response.status_code == 200, response.text
    assert other_api.get(f"/accounts/{own['id']}").json()["preAuthorizedCredit"] == 20
    assert snapshot(api, world) == before


def test_statement_ids_are_per_store(api, other_api, world):
    before = snapshot(api, world)
    own = open_account(other_api, credit_limit="100")
    response = other_api.put(f"/accounts/{own['id']}/statements/{world['statementId']}", json={"value": "-7"})
    assert response.status_code == 200, response.text
    assert snapshot(api, world) == before


def test_store_configuration_is_per_store(api, other_api, world):
    before = snapshot(api, world)
    mine = other_api.get("/storeconfig")
    assert mine.status_code == 200
    assert mine.json()["defaultCreditValue"] == 0
    assert mine.json()["postponementEnabled"] is False
    changed = configure(other_api, defaultCreditValue="1", taxRate="0.5")
    assert changed["defaultCreditValue"] == 1
    assert snapshot(api, world) == before
    assert api.get("/storeconfig").json()["defaultCreditValue"] == 777
