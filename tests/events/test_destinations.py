"""Webhooks cannot be pointed at the service's own network (SSRF): non-public destinations are
refused at registration and again at delivery, after resolving the name, unless the operator
allows them (CUSTOMER_CREDIT_WEBHOOK_ALLOWED_HOSTS); the delivery log keeps status codes,
durations and fixed error categories, never the receiver's body or raw exception text."""

import http.server
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from customer_credit.events import transport
from customer_credit.events.destinations import is_public, parse_allow_list
from customer_credit.settings import Settings
from tests.contract import is_error_shape
from tests.events.support import free_port, run_worker
from tests.events.test_webhooks import delivery_rows
from tests.helpers import open_account

PUBLIC_IP = "93.184.216.34"


def deliver(database) -> None:
    """The webhook jobs once, at a fixed moment after every event of these tests (the clock only
    decides what is due; the other jobs are left out so other tests' data stays as it is)."""
    run_worker(
        database,
        datetime(2100, 1, 1, tzinfo=UTC),
        names=("events-sequence", "webhooks-fanout", "webhooks-deliver"),
    )


class FakeDNS:
    """Answers chosen names with chosen addresses (each lookup takes the next answer, the last
    one repeats; no address means the name does not exist); other names go to the resolver."""

    def __init__(self, real):
        self.real = real
        self.answers: dict[str, list[str]] = {}
        self.lookups: list[str] = []

    def __call__(self, host, port, *args, **kwargs):
        if host not in self.answers:
            return self.real(host, port, *args, **kwargs)
        self.lookups.append(host)
        queue = self.answers[host]
        if not queue:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        if ":" in address:
            return [(socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port), 0, 0))]
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port)))]


@pytest.fixture
def dns(monkeypatch) -> FakeDNS:
    # Patched on the socket module itself, so a client that resolved the name again when
    # connecting would see the new answer too.
    fake = FakeDNS(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.fixture
def allowed_hosts(settings, monkeypatch):
    """Sets the operator's allow-list for one test (the package allows 127.0.0.1)."""

    def allow(value: str) -> None:
        monkeypatch.setattr(settings, "webhook_allowed_hosts", value)

    allow("")  # the default: public destinations only
    return allow


@pytest.fixture
def registered(api):
    """Registers endpoints and deletes them afterwards, so later tests' workers skip them."""
    created = []

    def register(url: str) -> dict:
        response = api.post("/webhooks", json={"url": url})
        assert response.status_code == 200, response.text
        created.append(response.json()["id"])
        return response.json()

    yield register
    for public_id in created:
        api.delete(f"/webhooks/{public_id}")


def deliveries_of(api, endpoint_id: str) -> list[dict]:
    response = api.get(f"/webhooks/{endpoint_id}/deliveries")
    assert response.status_code == 200, response.text
    return response.json()["data"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/hooks",
        "https://127.0.0.1/hooks",
        "http://localhost:{port}/hooks",
        "http://0.0.0.0:{port}/hooks",
        "http://0/hooks",
        "http://2130706433:{port}/hooks",  # 127.0.0.1 as one decimal number
        "http://0x7f.0.0.1/hooks",
        "http://0177.0.0.1/hooks",
        "http://10.1.2.3/hooks",
        "http://172.16.5.4/hooks",
        "http://192.168.0.10/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/hooks",  # carrier-grade NAT
        "http://224.0.0.1/hooks",
        "http://[::1]:{port}/hooks",
        "http://[::]/hooks",
        "http://[::ffff:127.0.0.1]:{port}/hooks",
        "http://[::ffff:a9fe:a9fe]/hooks",  # 169.254.169.254, IPv4-mapped
        "http://[fd12:3456::1]/hooks",
        "http://[fe80::1]/hooks",
    ],
)
def test_non_public_destinations_are_refused_at_registration(api, receiver, allowed_hosts, url):
    port = receiver.server.server_address[1]
    refused = api.post("/webhooks", json={"url": url.format(port=port)})
    assert refused.status_code == 400, refused.text
    assert is_error_shape(refused)
    error = refused.json()["error"]
    assert error["code"] == "WebhookDestinationNotAllowed"
    assert error["details"][0]["field"] == "url"
    assert api.get("/webhooks").json()["data"] == []


def test_urls_with_a_user_name_or_password_are_refused(api, allowed_hosts):
    for url in (f"http://user:secret@{PUBLIC_IP}/hooks", f"http://{PUBLIC_IP}@127.0.0.1/hooks"):
        refused = api.post("/webhooks", json={"url": url})
        assert refused.status_code == 400, refused.text
        assert is_error_shape(refused) and refused.json()["error"]["details"][0]["field"] == "url"
    assert api.get("/webhooks").json()["data"] == []


def test_a_public_destination_is_accepted(api, allowed_hosts, registered, dns):
    dns.answers["erp.example.test"] = [PUBLIC_IP]
    dns.answers["nowhere.example.test"] = []
    assert registered(f"http://{PUBLIC_IP}:8080/hooks")["url"] == f"http://{PUBLIC_IP}:8080/hooks"
    assert registered("https://erp.example.test/hooks")["url"] == "https://erp.example.test/hooks"
    unresolved = api.post("/webhooks", json={"url": "https://nowhere.example.test/hooks"})
    assert unresolved.status_code == 400 and unresolved.json()["error"]["code"] == "WebhookHostUnresolved"


def test_a_name_that_resolves_to_loopback_at_delivery_is_refused_and_nothing_is_posted(
    api, database, receiver, allowed_hosts, registered, dns
):
    port = receiver.server.server_address[1]
    dns.answers["hooks.example.test"] = [PUBLIC_IP]  # public when registered
    endpoint = registered(f"http://hooks.example.test:{port}/hooks")
    open_account(api, credit_limit="100")
    dns.answers["hooks.example.test"] = ["127.0.0.1"]  # then rebound to the worker's own host
    deliver(database)

    assert receiver.requests == []
    (row,) = delivery_rows(database, endpoint["id"])
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, None)
    assert row.last_error == "refused: destination not allowed"
    (logged,) = deliveries_of(api, endpoint["id"])
    assert logged["lastError"] == "refused: destination not allowed" and logged["lastStatusCode"] is None


def test_an_ipv4_mapped_loopback_answer_is_refused_at_delivery(
    api, database, receiver, allowed_hosts, registered, dns
):
    port = receiver.server.server_address[1]
    dns.answers["mapped.example.test"] = [PUBLIC_IP]
    endpoint = registered(f"http://mapped.example.test:{port}/hooks")
    open_account(api, credit_limit="100")
    dns.answers["mapped.example.test"] = ["::ffff:127.0.0.1"]
    deliver(database)
    assert receiver.requests == []
    assert [row.last_error for row in delivery_rows(database, endpoint["id"])] == [
        "refused: destination not allowed"
    ]


def test_a_host_the_operator_allows_by_name_is_delivered_to_the_checked_address(
    api, database, receiver, allowed_hosts, registered, dns
):
    """The name's loopback answer is allowed; the worker connects to the address it checked
    (a later answer, 127.0.0.2, where nothing listens, is never used) and keeps the name in
    the Host header."""
    allowed_hosts("hooks.internal.test")
    port = receiver.server.server_address[1]
    dns.answers["hooks.internal.test"] = ["127.0.0.1", "127.0.0.1", "127.0.0.2"]
    endpoint = registered(f"http://hooks.internal.test:{port}/hooks")
    open_account(api, credit_limit="100")
    deliver(database)

    (request,) = receiver.accepted()
    assert request["event"]["type"] == "account.opened"
    assert request["headers"]["host"] == f"hooks.internal.test:{port}"
    assert dns.lookups == ["hooks.internal.test"] * 2  # one check at registration, one at delivery
    (logged,) = deliveries_of(api, endpoint["id"])
    assert logged["status"] == "delivered" and logged["lastStatusCode"] == 200


def test_a_network_the_operator_allows_is_delivered_to(api, database, receiver, allowed_hosts, registered):
    allowed_hosts("10.0.0.0/8, 127.0.0.0/8")
    endpoint = registered(receiver.url)
    open_account(api, credit_limit="100")
    deliver(database)
    assert [item["event"]["type"] for item in receiver.accepted()] == ["account.opened"]
    assert deliveries_of(api, endpoint["id"])[0]["status"] == "delivered"


def test_the_log_keeps_status_and_timing_but_not_the_body(api, database, receiver, registered):
    endpoint = registered(receiver.url)
    receiver.fail_all = True  # answers 500 with {"error":"receiver down"}
    open_account(api, credit_limit="100")
    deliver(database)

    response = api.get(f"/webhooks/{endpoint['id']}/deliveries")
    assert "receiver down" not in response.text
    (logged,) = response.json()["data"]
    assert "lastResponse" not in logged
    assert logged["lastStatusCode"] == 500 and logged["lastError"] is None
    assert isinstance(logged["lastDurationMs"], int) and logged["lastDurationMs"] >= 0
    (row,) = delivery_rows(database, endpoint["id"])
    assert not hasattr(row, "last_response")


def test_connection_errors_are_recorded_as_a_fixed_category(api, database, registered):
    closed_port = free_port()  # nothing listens there
    endpoint = registered(f"http://127.0.0.1:{closed_port}/hooks")
    open_account(api, credit_limit="100")
    deliver(database)
    (logged,) = deliveries_of(api, endpoint["id"])
    assert logged["lastError"] == "connection failed"
    assert logged["lastStatusCode"] is None and isinstance(logged["lastDurationMs"], int)


def test_a_receiver_that_never_answers_is_recorded_as_a_timeout(
    api, database, settings, registered, monkeypatch
):
    monkeypatch.setattr(settings, "webhook_timeout_s", 0.3)
    with socket.socket() as silent:  # the kernel accepts the connection; nobody ever answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        endpoint = registered(f"http://127.0.0.1:{silent.getsockname()[1]}/hooks")
        open_account(api, credit_limit="100")
        deliver(database)
    (logged,) = deliveries_of(api, endpoint["id"])
    assert logged["lastError"] == "timeout" and logged["lastStatusCode"] is None


@pytest.fixture
def tls_receiver(tmp_path):
    """An HTTPS receiver on 127.0.0.1 whose certificate names hooks.internal.test; yields its
    port, the certificate file and the SNI names it was asked for."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=hooks.internal.test",
            "-addext",
            "subjectAltName=DNS:hooks.internal.test",
        ],
        check=True,
        capture_output=True,
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args):
            pass

    asked_names: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _context: asked_names.append(name)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], cert, asked_names
    server.shutdown()
    server.server_close()


def test_https_to_a_pinned_address_still_verifies_the_certificate_for_the_name(
    tls_receiver, dns, monkeypatch
):
    """A guard on the transport: connecting to the checked address must keep SNI and the
    certificate check on the URL's host name."""
    port, cert, asked_names = tls_receiver
    default_context = ssl.create_default_context
    monkeypatch.setattr(
        ssl, "create_default_context", lambda *args, **kwargs: default_context(cafile=str(cert))
    )
    dns.answers["hooks.internal.test"] = ["127.0.0.1"]
    dns.answers["other.internal.test"] = ["127.0.0.1"]
    allowed = parse_allow_list("127.0.0.1")

    sent = transport.post(f"https://hooks.internal.test:{port}/hooks", {}, b"{}", 5, allowed)
    assert (sent.ok, sent.status_code) == (True, 204)
    assert asked_names == ["hooks.internal.test"]
    for wrong_name in (f"https://other.internal.test:{port}/hooks", f"https://127.0.0.1:{port}/hooks"):
        refused = transport.post(wrong_name, {}, b"{}", 5, allowed)
        assert (refused.ok, refused.error) == (False, "tls handshake failed")


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("::ffff:8.8.8.8", True),  # IPv4-mapped: judged as the IPv4 address it reaches
        ("64:ff9b::808:808", True),  # NAT64 of a public address
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("198.18.0.1", False),
        ("255.255.255.255", False),
        ("ff02::1", False),
        ("fec0::1", False),
    ],
)
def test_what_counts_as_public(address, public):
    assert is_public(ipaddress.ip_address(address)) is public


def test_a_mistyped_allow_list_stops_the_service_at_start():
    assert Settings(webhook_allowed_hosts=" erp.internal , 10.1.2.0/24,::1").webhook_allowed_hosts
    for typo in ("10.0.0.0/33", "erp internal", "fd00::zz"):
        with pytest.raises(ValidationError):
            Settings(webhook_allowed_hosts=typo)
