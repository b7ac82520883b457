"""Idempotency-Key against a real server: a copy of a request whose body arrives late, and a copy
that arrives while the first is still executing.

The late copy is a raw socket that sends its headers and half its body, then waits while the
test sends the same request (same key, same body) and changes the account; only then does it
send the rest. The key is claimed once a body is whole and valid, so the fast copy executes,
and the late one must replay the fast one's outcome, even a refusal, and charge nothing."""

import socket
import threading
import time
import uuid

import httpx
import psycopg
import pytest

from loadgen.server import ServerProcess, provision

pytestmark = pytest.mark.slow

API = "/api/creditcontrol"


@pytest.fixture
def server(database_url, tmp_path):
    with ServerProcess(database_url, tmp_path) as running:
        yield running


@pytest.fixture
def credential(database_url, tmp_path):
    return provision(database_url, tmp_path)


def open_account(client: httpx.Client, headers: dict, credit_limit: str) -> str:
    document = str(uuid.uuid4().int)[:11]
    response = client.post(
        f"{API}/accounts",
        headers=headers,
        json={
            "document": document,
            "documentType": "CPF",
            "email": f"{document}@example.com",
            "creditLimit": credit_limit,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()["id"]


def held(client: httpx.Client, headers: dict, account_id: str) -> str:
    response = client.get(f"{API}/accounts/{account_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["preAuthorizedCredit"]


class SlowRequest:
    """One HTTP/1.1 request on a raw socket, its body sent in two parts when told."""

    def __init__(self, port: int, method: str, path: str, headers: dict, body: bytes):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Connection: close",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
        ]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.rest = body[len(body) // 2 :]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body[: len(body) // 2])

    def finish(self) -> tuple[int, dict[str, str], bytes]:
        self.sock.sendall(self.rest)
        received = b""
        while chunk := self.sock.recv(65536):
            received += chunk
        self.sock.close()
        head, _, content = received.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(status_line.split()[1]), headers, content


def test_a_late_copy_of_a_refused_request_replays_the_refusal(server, credential):
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        account_id = open_account(client, credential.headers, credit_limit="10")
        path = f"{API}/accounts/{account_id}/transactions"
        body = b'{"value": "20", "settle": true, "installments": 1}'
        keyed = {**credential.headers, "Idempotency-Key": f"slow-{uuid.uuid4()}"}

        late = SlowRequest(server.port, "POST", path, keyed, body)
        fast = client.post(path, headers={**keyed, "Content-Type": "application/json"}, content=body)
        assert fast.status_code == 409, fast.text
        assert fast.json()["error"]["code"] == "InsufficientCredit"
        # The hold fits from now on: a late copy that ran would be charged.
        raised = client.put(
            f"{API}/accounts/{account_id}/creditlimit", headers=credential.headers, json={"value": "100"}
        )
        assert raised.status_code == 200, raised.text

        status, headers, content = late.finish()
        assert status == 409, content
        assert content == fast.content
        assert headers.get("idempotent-replayed") == "true"
        assert held(client, credential.headers, account_id) == 0
        # Without the key's stored refusal the very same hold is accepted now.
        other = client.post(
            path,
            headers={
                **credential.headers,
                "Idempotency-Key": f"slow-{uuid.uuid4()}",
                "Content-Type": "application/json",
            },
            content=body,
        )
        assert other.status_code == 200, other.text
        assert held(client, credential.headers, account_id) == 20


def _wait_for_claim(conninfo: str, key: str, first: threading.Thread) -> None:
    deadline = time.monotonic() + 30
    with psycopg.connect(conninfo, autocommit=True) as connection:
        while time.monotonic() < deadline:
            row = connection.execute(
                "SELECT status_code FROM idempotency_records WHERE key = %s", (key,)
            ).fetchone()
            if row is not None:
                assert row[0] is None, "the first request finished while its account was locked"
                return
            assert first.is_alive(), "the first request ended before claiming its key"
            time.sleep(0.02)
    raise AssertionError("the first request never claimed its key")


@pytest.mark.postgresql_only
def test_a_copy_arriving_while_the_first_executes_is_in_progress(database_url, server, credential):
    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://")
    key = f"busy-{uuid.uuid4()}"
    body = b'{"value": "60", "settle": true, "installments": 1}'
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        account_id = open_account(client, credential.headers, credit_limit="100")
        path = f"{API}/accounts/{account_id}/transactions"
        keyed = {**credential.headers, "Idempotency-Key": key, "Content-Type": "application/json"}
        answers: list[httpx.Response] = []

        # Hold the account's row lock, so the first request stays executing (its key claimed,
        # its hold waiting for the account) for as long as the test needs.
        with psycopg.connect(conninfo) as locker:
            locker.execute("SELECT id FROM accounts WHERE public_id = %s FOR UPDATE", (account_id,))
            first = threading.Thread(
                target=lambda: answers.append(
                    httpx.post(server.base_url + path, headers=keyed, content=body, timeout=60)
                )
            )
            first.start()
            try:
                _wait_for_claim(conninfo, key, first)
                copy = client.post(path, headers=keyed, content=body, timeout=20)
                assert first.is_alive()
            finally:
                locker.rollback()
                first.join(timeout=60)
        assert copy.status_code == 409, copy.text
        assert copy.json()["error"]["code"] == "IdempotencyKeyInProgress"
        assert copy.headers["retry-after"] == "1"
        assert answers and answers[0].status_code == 200, answers
        again = client.post(path, headers=keyed, content=body)
        assert again.status_code == 200, again.text
        assert again.content == answers[0].content
        assert held(client, credential.headers, account_id) == 60
