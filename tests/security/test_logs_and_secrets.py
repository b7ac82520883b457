"""Secrets stay secret: tokens are stored hashed, and no log line ever carries an app token, its
hash, a user token or the signing secret. Every response carries X-Request-Id, and the access log
line of that request carries the same id.

The logs of a full run are captured twice: every record at DEBUG on the root logger (caplog, the
message and every extra field), and the same records rendered by the service's JSON formatter
(customer_credit.logs.JsonFormatter), which is what a deployment writes."""

import hashlib
import io
import json
import logging
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

import customer_credit.db.models  # noqa: F401 - every table in the metadata
from customer_credit.auth import service as auth_service
from customer_credit.auth.resources import MAIN_ACCESS, READ_INVOICES
from customer_credit.db.base import Base
from customer_credit.logs import JsonFormatter
from customer_credit.stores.models import Store as StoreRow
from tests.contract import is_error_shape
from tests.helpers import configure, hold, open_account, purchase


def test_app_tokens_are_stored_as_sha256_only(store, database):
    api = store.api()
    token = api.headers["X-VTEX-API-AppToken"]
    key = api.headers["X-VTEX-API-AppKey"]
    with database.read() as session:
        row = session.execute(
            select(Base.metadata.tables["api_keys"]).where(Base.metadata.tables["api_keys"].c.app_key == key)
        ).one()
        assert row.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
        assert token not in json.dumps([str(value) for value in row])
        # Nowhere else either: no column of any row of any table holds the token.
        for table in Base.metadata.sorted_tables:
            for stored in session.execute(select(table)):
                assert token not in str(tuple(stored)), f"the token is stored in {table.name}"
    # And the hash is not a credential: sending it as the token is refused.
    refused = api.http.get(
        "/api/creditcontrol/storeconfig",
        headers={"X-VTEX-API-AppKey": key, "X-VTEX-API-AppToken": row.token_sha256},
    )
    assert refused.status_code == 401 and is_error_shape(refused)


@pytest.fixture
def captured(caplog):
    """Every record at DEBUG, and the JSON lines the service's formatter makes of them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    caplog.set_level(logging.DEBUG)
    root.addHandler(handler)
    disabled = {
        name: logging.getLogger(name).disabled for name in ("customer_credit.access", "customer_credit")
    }
    for name in disabled:
        logging.getLogger(name).disabled = False
    try:
        yield caplog, stream
    finally:
        root.removeHandler(handler)
        for name, was in disabled.items():
            logging.getLogger(name).disabled = was


def _store_row(database, store_id):
    with database.read() as session:
        row = session.get(StoreRow, store_id)
        session.expunge(row)
        return row


def test_no_secret_in_any_log_line_and_request_ids_match(store, database, settings, captured):
    caplog, stream = captured
    api = store.api()
    other = store.api(resources=[READ_INVOICES])
    revoked = store.api()
    with database.write() as session:
        auth_service.revoke_key(session, revoked.headers["X-VTEX-API-AppKey"])
    store_row = _store_row(database, store.id)
    secret = settings.resolved_secret_key()
    user_token = auth_service.issue_user_token(
        secret, store_row, "finance@example.com", [MAIN_ACCESS], timedelta(hours=1)
    )
    expired = auth_service.issue_user_token(
        secret, store_row, "late@example.com", [MAIN_ACCESS], timedelta(seconds=-60)
    )
    tampered = user_token[:-4] + ("AAAA" if not user_token.endswith("AAAA") else "BBBB")
    forged = auth_service.issue_user_token(
        "not-the-secret-" + "y" * 32, store_row, "x@example.com", [MAIN_ACCESS], timedelta(hours=1)
    )
    wrong_token = "wrong-" + uuid.uuid4().hex + uuid.uuid4().hex

    responses = []

    def call(method, path, *, headers, expect, **kwargs):
        response = api.http.request(method, "/api/creditcontrol" + path, headers=headers, **kwargs)
        assert response.status_code == expect, (method, path, response.status_code, response.text)
        responses.append(response)
        return response

    main = api.headers
    # A full run: configuration, accounts, holders, holds, settlements, invoices, statements.
    configure(api, postponementEnabled=True, invoicePostponementLimit=2, maxPostponementDays=30)
    account = open_account(api, credit_limit="5000", tolerance="0.1")
    account_id = account["id"]
    transaction_id = purchase(api, account_id, "300", installments=3)
    live = hold(api, account_id, "20").json()["id"]
    call(
        "PUT",
        f"/accounts/{account_id}/transactions/{live}",
        headers=main,
        expect=200,
        json={"value": 15, "settle": True, "installments": 1},
    )
    call("DELETE", f"/accounts/{account_id}/transactions/{live}", headers=main, expect=200)
    call(
        "POST",
        f"/accounts/{account_id}/holders",
        headers=main,
        expect=200,
        json={"claims": {"email": f"holder-{account_id}@example.com"}},
    )
    call("POST", f"/accounts/{account_id}/invoices/{transaction_id}-01/payments", headers=main, expect=200)
    call(
        "PUT",
        f"/accounts/{account_id}/invoices/{transaction_id}-02/postponement",
        headers=main,
        expect=200,
        json={"dueDays": 3},
    )
    call(
        "PUT",
        f"/accounts/{account_id}/invoices/{transaction_id}-02",
        headers=main,
        expect=200,
        json={"status": "Opened", "observation": "<b>note</b>", "paymentLink": "https://pay.example.com/2"},
    )
    call(
        "POST",
        f"/accounts/{account_id}/transactions/{transaction_id}/refunds",
        headers=main,
        expect=200,
        json={"value": 10},
    )
    call("PUT", f"/accounts/{account_id}/statements/manual-1", headers=main, expect=200, json={"value": "-5"})
    call("PUT", f"/accounts/{account_id}/creditlimit", headers=main, expect=200, json={"value": 6000})
    call("GET", f"/accounts/{account_id}/statements", headers=main, expect=200)
    call("GET", "/invoices", headers=main, expect=200, params={"creditAccountId": account_id})
    call("GET", "/accounts", headers=main, expect=200)
    # Errors of every kind, including credentials that fail.
    call("GET", "/accounts/nobody_CPF", headers=main, expect=404)
    call("POST", "/accounts", headers=main, expect=400, json={"document": 1})
    call("POST", "/accounts", headers={**main, "Content-Type": "text/plain"}, expect=415, content=b"hello")
    call("PUT", "/storeconfig", headers=other.headers, expect=403, json={})
    call("GET", "/accounts", headers={}, expect=401)
    call(
        "GET",
        "/accounts",
        headers={"X-VTEX-API-AppKey": main["X-VTEX-API-AppKey"], "X-VTEX-API-AppToken": wrong_token},
        expect=401,
    )
    call(
        "GET",
        "/accounts",
        headers={
            "X-VTEX-API-AppKey": "vtexappkey-nobody",
            "X-VTEX-API-AppToken": main["X-VTEX-API-AppToken"],
        },
        expect=401,
    )
    call("GET", "/accounts", headers=revoked.headers, expect=401)
    for bad in (expired, tampered, forged, "not-a-jwt"):
        call("GET", "/accounts", headers={"VtexIdclientAutCookie": bad}, expect=401)
    call("GET", "/accounts", headers={}, expect=401, cookies={"VtexIdclientAutCookie": tampered})
    # A user token that works, as a header and as a cookie.
    call("GET", f"/accounts/{account_id}", headers={"VtexIdclientAutCookie": user_token}, expect=200)
    call(
        "GET",
        f"/accounts/{account_id}",
        headers={},
        expect=200,
        cookies={"VtexIdclientAutCookie": user_token},
    )
    # A caller's request id is kept when it is a plain id, replaced when it is not.
    kept = call("GET", "/storeconfig", headers={**main, "X-Request-Id": "caller-id-123"}, expect=200)
    assert kept.headers["X-Request-Id"] == "caller-id-123"
    replaced = call("GET", "/storeconfig", headers={**main, "X-Request-Id": "bad id <script>"}, expect=200)
    assert replaced.headers["X-Request-Id"] not in ("", "bad id <script>")

    # --- no secret in any line --------------------------------------------------------------
    secrets = {
        "app token": main["X-VTEX-API-AppToken"],
        "app token hash": hashlib.sha256(main["X-VTEX-API-AppToken"].encode()).hexdigest(),
        "other app token": other.headers["X-VTEX-API-AppToken"],
        "revoked app token": revoked.headers["X-VTEX-API-AppToken"],
        "wrong app token": wrong_token,
        "user token": user_token,
        "user token signature": user_token.rsplit(".", 1)[1],
        "expired user token": expired,
        "tampered user token": tampered,
        "forged user token": forged,
        "signing secret": secret,
    }
    records = list(caplog.records)
    assert len(records) >= len(responses), "the run logged less than one line per request"
    lines = [f"{record.name} {record.levelname} {record.getMessage()} {vars(record)!r}" for record in records]
    lines += stream.getvalue().splitlines()
    for what, value in secrets.items():
        leaked = [line[:300] for line in lines if value in line]
        assert not leaked, f"the {what} appears in the logs: {leaked[:3]}"

    # --- the request id, in the response and in the access log line ---------------------------
    access = {}
    for line in stream.getvalue().splitlines():
        entry = json.loads(line)
        if entry.get("logger") == "customer_credit.access":
            access[entry["request_id"]] = entry
    for response in responses:
        request_id = response.headers.get("X-Request-Id")
        assert request_id, f"no X-Request-Id on {response.request.method} {response.request.url}"
        entry = access.get(request_id)
        assert entry is not None, f"no access log line for request {request_id}"
        assert entry["status"] == response.status_code
        assert entry["path"] == response.request.url.path
        assert entry["method"] == response.request.method
    assert len({response.headers["X-Request-Id"] for response in responses}) == len(responses)
