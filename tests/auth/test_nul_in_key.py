"""A credential holding a NUL is a wrong credential (401), not a database error."""

import pytest


@pytest.mark.parametrize("header", ["X-VTEX-API-AppKey", "X-VTEX-API-AppToken"])
def test_a_nul_in_the_key_or_token_is_a_401(api, header):
    headers = {**api.headers, header: api.headers[header] + "\x00"}
    response = api.http.get("/api/creditcontrol/accounts", headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "InvalidCredentials"
