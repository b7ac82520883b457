"""`serve` on a port another server holds: one human line and exit code 2, not uvicorn's
traceback (and nothing migrated or started)."""

import socket

from tests.cli.support import one_error_line, run


def test_serve_on_a_port_in_use_says_so_in_one_line(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other_server:
        other_server.bind(("127.0.0.1", 0))
        other_server.listen()
        port = other_server.getsockname()[1]
        env = {
            "CUSTOMER_CREDIT_DATABASE_URL": f"sqlite:///{tmp_path / 'credit.db'}",
            "CUSTOMER_CREDIT_HOST": "127.0.0.1",
            "CUSTOMER_CREDIT_PORT": str(port),
        }
        line = one_error_line(run(env, "serve"))
        assert line == (
            f"error: port {port} on 127.0.0.1 is already in use; "
            "set CUSTOMER_CREDIT_PORT or stop the other server"
        )
        assert one_error_line(run(env, "serve", "--port", str(port))) == line
    assert not (tmp_path / "credit.db").exists()  # refused before migrating
