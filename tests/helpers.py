"""Small builders for test data, all through the HTTP API."""

import uuid
from decimal import Decimal

FULL_CONFIG = {
    "dailyInterestRate": 0,
    "invoicePostponementLimit": 0,
    "taxRate": 0,
    "maxPostponementDays": 0,
    "defaultCreditValue": 0,
    "maxPreAuthorizationGrowthRate": 0,
    "myCreditsEnabled": False,
    "toleranceEnabled": False,
    "automaticCheckingAccountCreationEnabled": False,
    "postponementEnabled": False,
}


def configure(api, **changes) -> dict:
    response = api.put("/storeconfig", json={**FULL_CONFIG, **changes})
    assert response.status_code == 200, response.text
    return response.json()


def open_account(api, *, credit_limit="1000", tolerance="0", document=None, email=None) -> dict:
    document = document or uuid.uuid4().int.__str__()[:11]
    response = api.post(
        "/accounts",
        json={
            "document": document,
            "documentType": "CPF",
            "email": email or f"{document}@example.com",
            "creditLimit": credit_limit,
            "tolerance": tolerance,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def hold(api, account_id: str, value, *, installments=1, settle=True, **extra):
    return api.post(
        f"/accounts/{account_id}/transactions",
        json={"value": value, "settle": settle, "installments": installments, **extra},
    )


def purchase(api, account_id: str, value, *, installments=1) -> str:
    """A hold settled at once; returns the transaction id."""
    held = hold(api, account_id, value, installments=installments)
    assert held.status_code == 200, held.text
    transaction_id = held.json()["id"]
    settled = api.put(
        f"/accounts/{account_id}/transactions/{transaction_id}/settlement", json={"value": value}
    )
    assert settled.status_code == 200, settled.text
    return transaction_id


def account(api, account_id: str) -> dict:
    response = api.get(f"/accounts/{account_id}")
    assert response.status_code == 200, response.text
    return response.json()


def dec(value) -> Decimal:
    return Decimal(str(value))
