"""An idle keep-alive connection is closed by the client, not the server: a server that closes
one at the moment a client reuses it loses that request as a connection reset (the bank run saw
one). Clients' pools forget idle connections after about 5 s (httpx's default), so the server
keeps them longer."""

import socket
import time

import pytest

from loadgen.server import ServerProcess

pytestmark = pytest.mark.slow

IDLE_S = 6.5  # longer than httpx's 5 s keep-alive expiry and uvicorn's default 5 s timeout


def exchange(connection: socket.socket) -> bytes:
    connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
        chunk = connection.recv(4096)
        if not chunk:
            break
        answer += chunk
    return answer


def test_an_idle_connection_still_answers_after_the_clients_own_expiry(sqlite_url, tmp_path):
    with (
        ServerProcess(sqlite_url, tmp_path) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection,
    ):
        assert exchange(connection).startswith(b"HTTP/1.1 200")
        time.sleep(IDLE_S)
        assert exchange(connection).startswith(b"HTTP/1.1 200")
