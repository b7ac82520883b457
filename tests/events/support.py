"""Shared by tests/events and tests/reminders: an isolated database per package (the jobs run
across every store, so other packages' data must not leak into what they count), a real
HTTP receiver and a real SMTP server, both on 127.0.0.1 and a free port, and a frozen-clock
worker."""

import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from starlette.testclient import TestClient

from customer_credit.app import create_app
from customer_credit.db.engine import Database
from customer_credit.db.migrate import upgrade
from customer_credit.jobs.registry import default_jobs
from customer_credit.jobs.worker import Worker
from tests.conftest import IN_CI, PG_ADMIN_URL, make_settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- an SMTP server ----------------------------------------------------------------------


class MailBox:
    """aiosmtpd handler: keeps every accepted message; `refuse[address] = n` answers 451 to the
    next n messages for that recipient, `unknown` holds addresses always answered 550."""

    def __init__(self):
        self.messages: list[tuple[Envelope, bytes]] = []
        self.refuse: dict[str, int] = {}
        self.unknown: set[str] = set()  # answered 550: never deliverable
        self.refused: list[list[str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            if self.unknown & set(envelope.rcpt_tos):
                self.refused.append(list(envelope.rcpt_tos))
                return "550 5.1.1 no such mailbox"
            for address in envelope.rcpt_tos:
                if self.refuse.get(address, 0) > 0:
                    self.refuse[address] -= 1
                    self.refused.append(list(envelope.rcpt_tos))
                    return "451 4.3.0 mailbox busy, try again later"
            self.messages.append((envelope, envelope.original_content or envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        """Messages whose envelope includes this recipient, parsed."""
        with self.lock:
            raws = [raw for envelope, raw in self.messages if address in envelope.rcpt_tos]
        return [message_from_bytes(raw, policy=policy.default) for raw in raws]


@pytest.fixture(scope="package")
def smtp_server() -> Iterator[tuple[MailBox, int]]:
    box = MailBox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


# --- an HTTP receiver --------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    request_queue_size = 64  # the dispatcher connects several at once
    daemon_threads = True


class Receiver:
    """Records every webhook request; `fail_ids` answers 500 to those webhook-ids, `fail_all`
    to everything, `fail_first` to the first N requests."""

    def __init__(self):
        self.requests: list[dict] = []
        self.fail_ids: set[str] = set()
        self.fail_all = False
        self.fail_first = 0
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", free_port()), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks"

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            wbufsize = 64 * 1024  # one write per response (no Nagle / delayed-ACK stalls)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver.lock:
                    failing = (
                        receiver.fail_all
                        or headers.get("webhook-id") in receiver.fail_ids
                        or receiver.fail_first > 0
                    )
                    if receiver.fail_first > 0:
                        receiver.fail_first -= 1
                    receiver.requests.append(
                        {"headers": headers, "body": body, "status": 500 if failing else 200}
                    )
                status = 500 if failing else 200
                payload = b'{"error":"receiver down"}' if failing else b'{"ok":true}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args):
                pass

        return Handler

    def accepted(self) -> list[dict]:
        """The requests answered 200, in arrival order, with the body parsed."""
        with self.lock:
            return [
                {**item, "event": json.loads(item["body"], parse_float=Decimal)}
                for item in self.requests
                if item["status"] == 200
            ]

    def start(self) -> "Receiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


# --- an isolated database per package ----------------------------------------------------


@pytest.fixture(scope="package", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('events-db') / 'events.db'}"
        upgrade(url)
        yield url
        return
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and is not reachable: {error}")
        pytest.skip(f"PostgreSQL not reachable: {error}")
    name = f"cc_events_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    url = f"{base}/{name}"
    upgrade(url)
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="package")
def settings(database_url, tmp_path_factory, smtp_server):
    _box, port = smtp_server
    return make_settings(
        database_url,
        tmp_path_factory.mktemp("events-data"),
        mail_backend="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_timeout_s=5,
        mail_sender="Credit Desk <credit@store.example>",
        webhook_timeout_s=5,
        # The receiver listens on loopback, which webhooks may reach only when the operator
        # allows it (tests of the refusals clear this, see tests/events/test_destinations.py).
        webhook_allowed_hosts="127.0.0.1",
    )


@pytest.fixture(scope="package")
def database(settings) -> Iterator[Database]:
    db = Database(settings)
    yield db
    db.dispose()


@pytest.fixture(scope="package")
def app(settings, database):
    return create_app(settings, database)


@pytest.fixture(scope="package")
def http(app) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def mailbox(smtp_server) -> MailBox:
    box, _port = smtp_server
    return box


def run_worker(database: Database, now: datetime, *, names: tuple[str, ...] | None = None) -> dict[str, int]:
    """Every job (or those named) once, with the clock frozen at `now`."""
    jobs = [job for job in default_jobs(1.0) if names is None or job.name in names]
    return Worker(database, jobs=jobs, clock=lambda: now).run_once()
