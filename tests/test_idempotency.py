"""Idempotency-Key: a retry with the same key and body replays the first outcome (a 2xx or a
rule's refusal) and changes nothing more; the same key with another body (or on another
operation) is a 409. Requests that race or crash on one key: tests/test_idempotency_claims.py
and tests/e2e/test_idempotency_slow_body.py."""

import uuid

from tests.contract import assert_matches, is_error_shape
from tests.helpers import account, dec, open_account, purchase

ACCOUNTS = "/api/creditcontrol/accounts"


def key() -> dict:
    return {"Idempotency-Key": f"retry-{uuid.uuid4()}"}


def assert_reused(response) -> None:
    assert response.status_code == 409, response.text
    assert is_error_shape(response)
    assert response.json()["error"]["code"] == "IdempotencyKeyReused"


def assert_replayed(first, again) -> None:
    assert again.status_code == first.status_code == 200, again.text
    assert again.content == first.content


def ledger(api, account_id) -> list[tuple[str, object]]:
    response = api.get(f"/accounts/{account_id}/statements")
    assert response.status_code == 200, response.text
    return [(entry["origin"], dec(entry["value"])) for entry in response.json()["statements"]]


def test_open_account(api):
    headers = key()
    body = {
        "document": "12345678901",
        "documentType": "CPF",
        "email": "idem@example.com",
        "creditLimit": "300",
    }
    first = api.post("/accounts", json=body, headers=headers)
    assert_matches("post", ACCOUNTS, first)
    again = api.post("/accounts", json=body, headers=headers)
    assert_replayed(first, again)
    # Without the key the same request is refused: the account is open already.
    assert api.post("/accounts", json=body).status_code == 409
    assert api.get("/accounts", params={"email": "idem@example.com"}).json()["summary"]["count"] == 1

    assert_reused(api.post("/accounts", json={**body, "creditLimit": "301"}, headers=headers))
    assert dec(account(api, first.json()["id"])["creditLimit"]) == dec("300")


def test_hold(api):
    opened = open_account(api, credit_limit="100")
    headers = key()
    path = f"/accounts/{opened['id']}/transactions"
    body = {"value": "60", "settle": True, "installments": 1}
    first = api.post(path, json=body, headers=headers)
    assert_matches("post", f"{ACCOUNTS}/{{creditAccountId}}/transactions", first)
    again = api.post(path, json=body, headers=headers)
    assert_replayed(first, again)
    assert again.json()["id"] == first.json()["id"]
    assert dec(account(api, opened["id"])["preAuthorizedCredit"]) == dec("60")

    assert_reused(api.post(path, json={**body, "value": "10"}, headers=headers))
    assert dec(account(api, opened["id"])["preAuthorizedCredit"]) == dec("60")
    # Another key is another request: it takes more credit.
    assert api.post(path, json={**body, "value": "10"}, headers=key()).status_code == 200
    assert dec(account(api, opened["id"])["preAuthorizedCredit"]) == dec("70")


def test_payment(api):
    opened = open_account(api)
    transaction_id = purchase(api, opened["id"], "30")
    path = f"/accounts/{opened['id']}/invoices/{transaction_id}-01/payments"
    headers = key()
    first = api.post(path, json={"value": "10"}, headers=headers)
    assert_matches("post", f"{ACCOUNTS}/{{creditAccountId}}/invoices/{{invoiceId}}/payments", first)
    again = api.post(path, json={"value": "10"}, headers=headers)
    assert_replayed(first, again)
    assert dec(again.json()["creditValue"]) == dec("10")
    assert ledger(api, opened["id"]) == [("Invoice", dec("-30")), ("Payment", dec("10"))]

    assert_reused(api.post(path, json={"value": "20"}, headers=headers))
    assert_reused(api.post(path, headers=headers))
    assert dec(account(api, opened["id"])["balance"]) == dec("-20")


def test_payment_without_body(api):
    opened = open_account(api)
    transaction_id = purchase(api, opened["id"], "30")
    path = f"/accounts/{opened['id']}/invoices/{transaction_id}-01/payments"
    headers = key()
    first = api.post(path, headers=headers)
    assert first.json()["status"] == "Paid"
    # The payment is reversed in between: a replay must not pay it again.
    assert (
        api.put(
            f"/accounts/{opened['id']}/invoices/{transaction_id}-01", json={"status": "Opened"}
        ).status_code
        == 200
    )
    again = api.post(path, headers=headers)
    assert_replayed(first, again)
    assert api.get(f"/accounts/{opened['id']}/invoices/{transaction_id}-01").json()["status"] == "Opened"
    assert dec(account(api, opened["id"])["balance"]) == dec("-30")


def test_refund(api):
    opened = open_account(api)
    transaction_id = purchase(api, opened["id"], "50", installments=2)
    path = f"/accounts/{opened['id']}/transactions/{transaction_id}/refunds"
    headers = key()
    first = api.post(path, json={"value": "20"}, headers=headers)
    assert_matches("post", f"{ACCOUNTS}/{{creditAccountId}}/transactions/{{transactionId}}/refunds", first)
    again = api.post(path, json={"value": "20"}, headers=headers)
    assert_replayed(first, again)
    assert dec(account(api, opened["id"])["balance"]) == dec("-30")
    assert ledger(api, opened["id"]) == [("Invoice", dec("-50")), ("Invoice", dec("20"))]

    assert_reused(api.post(path, json={"value": "5"}, headers=headers))
    assert dec(account(api, opened["id"])["balance"]) == dec("-30")


def test_holder(api):
    opened = open_account(api)
    path = f"/accounts/{opened['id']}/holders"
    headers = key()
    body = {"claims": {"email": f"holder-{uuid.uuid4().hex[:8]}@example.com"}}
    first = api.post(path, json=body, headers=headers)
    assert_matches("post", f"{ACCOUNTS}/{{creditAccountId}}/holders", first)
    again = api.post(path, json=body, headers=headers)
    assert_replayed(first, again)
    assert again.json()["id"] == first.json()["id"]
    found = api.get("/accounts", params={"email": body["claims"]["email"]})
    assert found.json()["summary"]["count"] == 1

    assert_reused(api.post(path, json={"claims": {"email": "someone.else@example.com"}}, headers=headers))
    assert api.get("/accounts", params={"email": "someone.else@example.com"}).json()["summary"]["count"] == 0


def test_same_key_on_another_operation_is_refused(api):
    opened = open_account(api, credit_limit="100")
    headers = key()
    body = {"value": "10", "settle": True, "installments": 1}
    assert api.post(f"/accounts/{opened['id']}/transactions", json=body, headers=headers).status_code == 200
    other = open_account(api, credit_limit="100")
    assert_reused(api.post(f"/accounts/{other['id']}/transactions", json=body, headers=headers))
    assert dec(account(api, other["id"])["preAuthorizedCredit"]) == 0


def test_settlement(api):
    opened = open_account(api)
    transaction_id = api.post(
        f"/accounts/{opened['id']}/transactions", json={"value": "40", "settle": True, "installments": 2}
    ).json()["id"]
    path = f"/accounts/{opened['id']}/transactions/{transaction_id}/settlement"
    headers = key()
    first = api.put(path, json={"value": "40"}, headers=headers)
    assert_matches("put", f"{ACCOUNTS}/{{creditAccountId}}/transactions/{{transactionId}}/settlement", first)
    again = api.put(path, json={"value": "40"}, headers=headers)
    assert_replayed(first, again)
    # Without the key, a lower value would lower the invoices; with the used key it is refused.
    assert_reused(api.put(path, json={"value": "30"}, headers=headers))
    invoices = api.get(f"/accounts/{opened['id']}/invoices").json()
    assert invoices["summary"]["count"] == 2
    assert dec(invoices["summary"]["total"]) == dec("40")
    assert ledger(api, opened["id"]) == [("Invoice", dec("-40"))]


def assert_replays_refusal(first, again, code: str) -> None:
    assert first.status_code in (404, 409), first.text
    assert first.json()["error"]["code"] == code
    assert again.status_code == first.status_code, again.text
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers


def test_a_refusal_is_final_for_its_key(api):
    # Formerly test_a_refused_request_is_not_remembered, which asserted the opposite: a retry
    # of a refused request ran again, so a late copy could charge a client told "refused".
    opened = open_account(api, credit_limit="10")
    path = f"/accounts/{opened['id']}/transactions"
    headers = key()
    body = {"value": "20", "settle": True, "installments": 1}
    first = api.post(path, json=body, headers=headers)
    assert api.put(f"/accounts/{opened['id']}/creditlimit", json={"value": "20"}).status_code == 200
    before = account(api, opened["id"]), ledger(api, opened["id"])
    # The hold would fit now; the key still answers what it answered, and changes nothing.
    again = api.post(path, json=body, headers=headers)
    assert_replays_refusal(first, again, "InsufficientCredit")
    assert (account(api, opened["id"]), ledger(api, opened["id"])) == before
    assert dec(before[0]["preAuthorizedCredit"]) == 0
    assert_reused(api.post(path, json={**body, "value": "5"}, headers=headers))
    # Another key is another request, and it fits.
    assert api.post(path, json=body, headers=key()).status_code == 200
    assert dec(account(api, opened["id"])["preAuthorizedCredit"]) == dec("20")


def test_a_not_found_is_final_for_its_key(api):
    opened = open_account(api, credit_limit="100")
    transaction_id = "A" * 32
    settlement = f"/accounts/{opened['id']}/transactions/{transaction_id}/settlement"
    headers = key()
    first = api.put(settlement, json={"value": "30"}, headers=headers)
    # Now the transaction exists, so the same settlement would succeed.
    created = api.put(
        f"/accounts/{opened['id']}/transactions/{transaction_id}",
        json={"value": "30", "settle": True, "installments": 1},
    )
    assert created.status_code == 200, created.text
    again = api.put(settlement, json={"value": "30"}, headers=headers)
    assert_replays_refusal(first, again, first.json()["error"]["code"])
    assert api.get(f"/accounts/{opened['id']}/invoices").json()["summary"]["count"] == 0
    assert dec(account(api, opened["id"])["balance"]) == 0


def test_a_malformed_body_does_not_take_the_key(api):
    # A 400 of validation means the request never started executing (Stripe keeps none): the
    # client may correct the body and send it again with the same key.
    opened = open_account(api, credit_limit="100")
    path = f"/accounts/{opened['id']}/transactions"
    headers = key()
    malformed = api.post(path, json={"value": "ten", "settle": True, "installments": 1}, headers=headers)
    assert malformed.status_code == 400, malformed.text
    # A 400 that the work itself raises (installments out of range) takes nothing either.
    refused = api.post(path, json={"value": "10", "settle": True, "installments": 1000}, headers=headers)
    assert refused.status_code == 400, refused.text
    corrected = api.post(path, json={"value": "10", "settle": True, "installments": 1}, headers=headers)
    assert corrected.status_code == 200, corrected.text
    assert dec(account(api, opened["id"])["preAuthorizedCredit"]) == dec("10")


def test_keys_are_not_shared_between_stores(api, other_api):
    headers = key()
    body = {"document": "98765432100", "documentType": "CPF", "email": "shared@example.com"}
    first = api.post("/accounts", json=body, headers=headers)
    assert first.status_code == 200, first.text
    second = other_api.post("/accounts", json=body, headers=headers)
    assert second.status_code == 200, second.text
    assert other_api.get(f"/accounts/{first.json()['id']}").status_code == 200


def test_malformed_key_is_400(api):
    opened = open_account(api, credit_limit="100")
    path = f"/accounts/{opened['id']}/transactions"
    body = {"value": "10", "settle": True, "installments": 1}
    response = api.post(path, json=body, headers={"Idempotency-Key": "k" * 256})
    assert response.status_code == 400, response.text
    assert is_error_shape(response)
    assert dec(account(api, opened["id"])["preAuthorizedCredit"]) == 0
