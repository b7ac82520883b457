"""Edges of the wire that real clients hit: trailing slashes, 405s, duplicate JSON keys, and
e-mails that look alike but are not."""

import re

import pytest

from tests.helpers import open_account, purchase

PATH_PARAM = re.compile(r"\{[^}]+\}")


def test_seed_guide_invoice_listings_answer_with_a_trailing_slash(api):
    account_id = open_account(api)["id"]
    purchase(api, account_id, "100.00", installments=2)
    for path in ("/api/creditcontrol/invoices", f"/api/creditcontrol/accounts/{account_id}/invoices"):
        plain = api.get(path)
        slashed = api.get(path + "/", follow_redirects=False)
        assert slashed.status_code == 200, slashed.text
        assert plain.status_code == 200
        assert slashed.json() == plain.json()
        assert slashed.json()["summary"]["count"] == 2


def test_a_write_with_a_trailing_slash_applies_once_without_a_redirect(api):
    account_id = open_account(api)["id"]
    response = api.post(
        f"/api/creditcontrol/accounts/{account_id}/transactions/",
        json={"value": "10.00", "settle": True, "installments": 1},
        follow_redirects=False,
    )
    assert response.status_code == 200, response.text
    assert api.get(f"/accounts/{account_id}").json()["preAuthorizedCredit"] == 10.0


def test_every_route_answers_the_same_with_or_without_a_trailing_slash(api, app):
    account_id = open_account(api)["id"]
    seen = 0
    for route in app.openapi()["paths"]:
        if "get" not in app.openapi()["paths"][route]:
            continue
        path = PATH_PARAM.sub(account_id, route)
        plain = api.get(path, follow_redirects=False)
        slashed = api.get(path + "/", follow_redirects=False)
        assert slashed.status_code == plain.status_code, (route, slashed.status_code, plain.status_code)
        assert slashed.status_code not in (301, 302, 307, 308), route
        if plain.status_code >= 400:
            assert slashed.json()["error"]["code"] == plain.json()["error"]["code"], route
        elif plain.headers.get("content-type", "").startswith("application/json"):
            # The same shape; the content may move between two reads (the event feed numbers
            # pending events as it is read).
            assert slashed.json().keys() == plain.json().keys(), route
        seen += 1
    assert seen >= 12


def test_405_lists_every_method_of_the_path(api):
    account_id = open_account(api)["id"]
    # GET, PUT and DELETE are all routes of /accounts/{id}: a PATCH must name all three.
    response = api.request("PATCH", f"/accounts/{account_id}", json={})
    assert response.status_code == 405
    allowed = {method.strip() for method in response.headers["allow"].split(",")}
    assert {"GET", "PUT", "DELETE"} <= allowed
    assert "POST" not in allowed
    assert response.json()["error"]["code"] == "MethodNotAllowed"

    listing = api.request("DELETE", "/accounts")
    assert listing.status_code == 405
    assert {"GET", "POST"} <= {m.strip() for m in listing.headers["allow"].split(",")}


def test_duplicate_json_keys_are_refused(api):
    account_id = open_account(api, credit_limit="1000")["id"]
    body = b'{"value": 10, "settle": true, "installments": 1, "value": 5000}'
    response = api.post(
        f"/accounts/{account_id}/transactions", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert "more than once" in response.json()["error"]["message"]
    assert api.get(f"/accounts/{account_id}").json()["preAuthorizedCredit"] == 0.0


def test_nested_duplicate_keys_are_refused(api):
    body = b'{"document": "1", "documentType": "CPF", "email": "a@b.co", "x": {"k": 1, "k": 2}}'
    response = api.post("/accounts", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "email",
    [
        "ana\u200b@example.com",  # zero-width space
        "ana@exa\u200dmple.com",  # zero-width joiner
        "\u202eana@example.com",  # right-to-left override
        "ana\u2066@example.com",  # bidi isolate
        "ana\ufeff@example.com",  # byte-order mark
        "ana\x07@example.com",  # control
        "ana@example.com.",  # trailing dot
        "ana@example..com",
        ".ana@example.com",
        "ana.@example.com",
    ],
)
def test_look_alike_emails_are_refused(api, email):
    response = api.post("/accounts", json={"document": "12345678901", "documentType": "CPF", "email": email})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"][0]["field"] == "email"


def test_emails_compare_in_normalised_form_for_the_one_account_per_email_rule(api):
    first = open_account(api)
    second = open_account(api)
    holder = api.post(f"/accounts/{first['id']}/holders", json={"claims": {"email": "Buyer@Example.com"}})
    assert holder.status_code == 200, holder.text
    # Full-width letters and another case are the same address once normalised.
    for look_alike in ("buyer@example.com", "ＢＵＹＥＲ@example.com", "BUYER@EXAMPLE.COM"):
        again = api.post(f"/accounts/{second['id']}/holders", json={"claims": {"email": look_alike}})
        assert again.status_code == 409, (look_alike, again.text)
    found = api.get("/accounts", params={"email": "ｂuyer@example.com"})
    assert [item["id"] for item in found.json()["data"]] == [first["id"]]


def test_owner_email_is_stored_normalised(api):
    created = open_account(api, email="Ｏｗｎｅｒ.Name@Example.COM")
    assert created["email"] == "owner.name@example.com"
