from tests.contract import assert_matches
from tests.helpers import open_account


def test_open_and_retrieve_account(api):
    opened = open_account(api, credit_limit="3000", tolerance="0.05")
    response = api.get(f"/accounts/{opened['id']}")
    assert_matches("get", "/api/creditcontrol/accounts/{creditAccountId}", response)
    assert response.json()["creditLimit"] == 3000
    assert response.json()["tolerance"] == 0.05
