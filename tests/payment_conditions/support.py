"""Helpers for the payment-condition tests, all through the HTTP API."""

from datetime import datetime
from urllib.parse import quote

from tests.contract import is_error_shape
from tests.helpers import hold

CONDITIONS = "/paymentconditions"


def condition_path(name: str) -> str:
    return f"{CONDITIONS}/{quote(name, safe='')}"


def put_condition(api, name: str, due_days, **fields):
    return api.put(condition_path(name), json={"dueDays": due_days, **fields})


def make_condition(api, name: str, due_days, **fields) -> dict:
    response = put_condition(api, name, due_days, **fields)
    assert response.status_code == 200, response.text
    return response.json()


def refused(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert is_error_shape(response)
    error = response.json()["error"]
    if code is not None:
        assert error["code"] == code, error
    return error


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def settle(api, account_id: str, transaction_id: str, value, **extra):
    return api.put(
        f"/accounts/{account_id}/transactions/{transaction_id}/settlement", json={"value": value, **extra}
    )


def held(api, account_id: str, value, *, installments: int) -> str:
    response = hold(api, account_id, value, installments=installments)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def invoices_of(api, account_id: str, transaction_id: str) -> list[dict]:
    response = api.get(f"/accounts/{account_id}/invoices", params={"from": 1, "to": 200})
    assert response.status_code == 200, response.text
    found = [i for i in response.json()["data"] if i["transactionId"] == transaction_id]
    return sorted(found, key=lambda invoice: invoice["installment"])


def due_offsets(invoices: list[dict]) -> list[int]:
    """Days from each invoice's issue to its due date (exact days: any remainder fails)."""
    offsets = []
    for invoice in invoices:
        gap = when(invoice["dueDate"]) - when(invoice["createdAt"])
        assert gap.seconds == 0 and gap.microseconds == 0, (invoice["id"], gap)
        offsets.append(gap.days)
    return offsets


def statements(api, account_id: str) -> list[dict]:
    response = api.get(f"/accounts/{account_id}/statements")
    assert response.status_code == 200, response.text
    return response.json()["statements"]
