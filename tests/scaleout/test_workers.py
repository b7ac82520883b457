"""Three `customer-credit worker` processes share the jobs of one PostgreSQL database; two of them
are SIGKILLed in the middle of a job, one while it waits on a webhook POST, one while it waits on
an SMTP server's answer to a reminder. Then:
- every hold past its expiration is released once, every overdue invoice announced once;
- every reminder is e-mailed at most once: all of them are sent, but for the one in flight when
  its worker died (abandoned: it may have gone out), and the rest of that worker's batch, never
  started, is sent by another;
- every event reaches the webhook receiver at least once, in order per account (the POST cut off
  by the kill is delivered again, with the same webhook-id).

The workers' clocks start at a fixed moment (`worker --now`), so the data is dated against it
and nothing depends on today's date. A lease ends minutes after its worker's death; instead of
waiting, a last `worker --once` run with its clock an hour on plays the time passing."""

import asyncio
import json
import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from starlette.testclient import TestClient

from customer_credit.app import create_app
from customer_credit.db.engine import Database
from customer_credit.events.models import DELIVERED, Event, OverdueNotice, WebhookDelivery
from customer_credit.events.types import INVOICE_OVERDUE, TRANSACTION_EXPIRED
from customer_credit.invoices.models import Invoice
from customer_credit.ledger.service import recompute_mismatches
from customer_credit.reminders.models import ABANDONED, SENT, Reminder
from customer_credit.transactions.models import EXPIRED, Transaction
from loadgen.server import free_port, scratch_postgresql
from tests.clock import FrozenClock
from tests.conftest import Store, make_settings
from tests.helpers import configure, hold, open_account, purchase
from tests.scaleout.support import SECRET_KEY, WorkerProcess, pid_with_client_port

pytestmark = [pytest.mark.slow, pytest.mark.postgresql_only]

BASE = datetime(2031, 3, 10, 15, 0, tzinfo=UTC)  # the workers' clock at their start
SETUP = BASE - timedelta(days=30)  # the API's clock while the data is written
ACCOUNTS = 16
REMINDERS = 2 * ACCOUNTS  # one before the due date of each second installment, one after the first's


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Stall:
    """The first request waits (its sender's client port recorded) until `release()`."""

    def __init__(self):
        self.lock = threading.Lock()
        self.taken = False
        self.client_port: int | None = None
        self.released = threading.Event()

    def take(self, client_port: int) -> bool:
        with self.lock:
            if self.taken:
                return False
            self.taken, self.client_port = True, client_port
            return True

    def release(self) -> None:
        self.released.set()


class _Server(ThreadingHTTPServer):
    request_queue_size = 64  # three workers connect several at once
    daemon_threads = True


class Receiver:
    """A webhook receiver on 127.0.0.1: answers 200 and records each request in arrival order;
    the first one is stalled and never answered (its worker is killed meanwhile)."""

    def __init__(self):
        self.stall = Stall()
        self.accepted: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if receiver.stall.take(self.client_address[1]):
                    receiver.stall.released.wait(timeout=60)
                    self.close_connection = True
                    return
                with receiver.lock:
                    receiver.accepted.append({"id": self.headers["webhook-id"], "event": json.loads(body)})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args):
                pass

        self.server = _Server(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stall.release()
        self.server.shutdown()
        self.server.server_close()


class MailSink:
    """An SMTP server on 127.0.0.1 that takes 50 ms per message (so a batch is still being sent
    when its worker is killed); the first message is stalled and never accepted."""

    def __init__(self):
        self.stall = Stall()
        self.messages: list[bytes] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.stall.take(session.peer[1]):
            while not self.stall.released.is_set():
                await asyncio.sleep(0.02)
            return "451 4.3.0 not accepted"
        await asyncio.sleep(0.05)
        self.messages.append(envelope.original_content or envelope.content)
        return "250 OK"

    def message_ids(self) -> Counter:
        return Counter(message_from_bytes(raw, policy=policy.default)["Message-ID"] for raw in self.messages)

    def __enter__(self) -> "MailSink":
        self.controller.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stall.release()
        self.controller.stop()


@pytest.fixture
def scratch_url(postgresql_url) -> Iterator[str]:
    """A database of its own: the workers run every store's jobs."""
    with scratch_postgresql("cc_workers") as url:
        yield url


@pytest.fixture
def processes() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.kill()


def write_the_book(scratch_url, tmp_path, receiver) -> int:
    """A store with reminders on, a webhook to the receiver and ACCOUNTS accounts, each with a
    two-installment purchase (the first invoice overdue at BASE, the second due two days after)
    and a hold that expired before BASE. Returns the store's id."""
    settings = make_settings(
        scratch_url, tmp_path / "setup", webhook_allowed_hosts="127.0.0.1", db_pool_size=2
    )
    database = Database(settings)
    app = create_app(settings, database)
    app.state.clock = FrozenClock(SETUP)
    try:
        with TestClient(app, raise_server_exceptions=False) as http:
            store = Store(database, http)
            api = store.api()
            configure(
                api,
                notificationsSettings={
                    "daysPrior": [{"days": 3, "timeOfDay": "09:00:00"}],
                    "daysAfter": [{"days": 1, "timeOfDay": "09:00:00"}],
                },
            )
            created = api.post("/webhooks", json={"url": receiver.url})
            assert created.status_code in (200, 201), created.text
            for _ in range(ACCOUNTS):
                account_id = open_account(api, credit_limit="1000")["id"]
                purchase(api, account_id, "100", installments=2)
                held = hold(api, account_id, "10", expirationDate=stamp(SETUP + timedelta(days=1)))
                assert held.status_code == 200, held.text
        with database.write() as session:
            for invoice in session.scalars(select(Invoice).where(Invoice.store_id == store.id)):
                due = BASE - timedelta(days=2) if invoice.installment == 1 else BASE + timedelta(days=2)
                invoice.due_at = invoice.original_due_at = due
                invoice.created_at = BASE - timedelta(days=60)
        return store.id
    finally:
        database.dispose()


def worker_env(scratch_url, tmp_path, sink) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CUSTOMER_CREDIT_DATABASE_URL": scratch_url,
            "CUSTOMER_CREDIT_DATA_DIR": str(tmp_path / "workers"),
            "CUSTOMER_CREDIT_SECRET_KEY": SECRET_KEY,
            "CUSTOMER_CREDIT_LOG_LEVEL": "WARNING",
            "CUSTOMER_CREDIT_DB_POOL_SIZE": "4",
            "CUSTOMER_CREDIT_WORKER_INTERVAL_S": "0.2",
            "CUSTOMER_CREDIT_CLOCK_OFFSET_DAYS": "0",
            "CUSTOMER_CREDIT_MAIL_BACKEND": "smtp",
            "CUSTOMER_CREDIT_SMTP_HOST": "127.0.0.1",
            "CUSTOMER_CREDIT_SMTP_PORT": str(sink.port),
            "CUSTOMER_CREDIT_SMTP_TIMEOUT_S": "20",
            "CUSTOMER_CREDIT_WEBHOOK_TIMEOUT_S": "20",
            # Small claims, so that every worker gets some of the accounts' deliveries.
            "CUSTOMER_CREDIT_WEBHOOK_BATCH_SIZE": "4",
            "CUSTOMER_CREDIT_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        }
    )
    return env


def kill_the_stalled(stalls: list[Stall], workers: list[WorkerProcess], timeout_s: float = 30) -> list[int]:
    """Waits for each stall to hold a request, SIGKILLs the worker that sent it, then lets the
    stalled handler go. Returns the killed pids."""
    killed = []
    pending = list(stalls)
    deadline = time.monotonic() + timeout_s
    while pending:
        assert time.monotonic() < deadline, "a worker never reached the stalled receiver"
        for stall in list(pending):
            if stall.client_port is None:
                continue
            pid = pid_with_client_port(stall.client_port, [w.pid for w in workers if w.alive()])
            victim = next(w for w in workers if w.pid == pid)
            victim.kill()
            stall.release()
            killed.append(pid)
            pending.remove(stall)
        time.sleep(0.02)
    return killed


def wait_until_idle(database: Database, timeout_s: float = 20) -> None:
    """Until nothing a live worker may take is left: every reminder claimed and every due
    delivery claimed (the killed workers' claims wait for their leases)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with database.read() as session:
            reminders = session.scalar(select(func.count()).where(Reminder.status == "pending"))
            claimed = session.scalar(select(func.count()).select_from(Reminder))
            deliveries = session.scalar(select(func.count()).where(WebhookDelivery.status == "pending"))
            unsequenced = session.scalar(select(func.count()).where(Event.seq.is_(None)))
        if claimed == REMINDERS and reminders == 0 and deliveries == 0 and unsequenced == 0:
            return
        time.sleep(0.1)


def assert_in_order_per_account(receiver: Receiver, database: Database, store_id: int) -> None:
    with database.read() as session:
        events = session.execute(
            select(Event.public_id, Event.account_id, Event.seq)
            .where(Event.store_id == store_id)
            .order_by(Event.seq)
        ).all()
    expected: dict[int, list[str]] = defaultdict(list)
    account_of = {}
    for public_id, account_id, _seq in events:
        expected[account_id].append(public_id)
        account_of[public_id] = account_id
    received: dict[int, list[str]] = defaultdict(list)
    for item in receiver.accepted:
        assert item["id"] == item["event"]["id"]  # a repeat keeps its webhook-id
        received[account_of[item["event"]["id"]]].append(item["id"])
    assert set(received) == set(expected)
    for account_id, wanted in expected.items():
        seen: list[str] = []
        for event_id in received[account_id]:
            if event_id in seen:
                # At least once: a repeat may come, but only of the latest, never after a later one.
                assert event_id == seen[-1], f"account {account_id}: {event_id} repeated out of order"
                continue
            assert event_id == wanted[len(seen)], f"account {account_id}: out of order"
            seen.append(event_id)
        assert seen == wanted, f"account {account_id}: events missing"


def test_three_workers_share_the_jobs_and_kills_mid_job_lose_nothing(scratch_url, tmp_path, processes):
    with Receiver() as receiver, MailSink() as sink:
        store_id = write_the_book(scratch_url, tmp_path, receiver)
        env = worker_env(scratch_url, tmp_path, sink)
        for number in range(3):
            processes.append(WorkerProcess(["--now", stamp(BASE)], env, tmp_path / f"worker-{number}.log"))

        killed = kill_the_stalled([receiver.stall, sink.stall], processes)
        assert len(set(killed)) == 2
        (survivor,) = [worker for worker in processes if worker.alive()]
        database = Database(make_settings(scratch_url, tmp_path / "check", db_pool_size=2))
        try:
            wait_until_idle(database)
            assert survivor.stop() == 0, survivor.log()
            # The leases of the killed workers' claims have run out an hour on.
            sweep = WorkerProcess(
                ["--once", "--now", stamp(BASE + timedelta(hours=1))], env, tmp_path / "sweep.log"
            )
            processes.append(sweep)
            assert sweep.process.wait(timeout=60) == 0, sweep.log()
            for worker in processes:
                assert "Traceback" not in worker.log(), worker.log()

            with database.read() as session:
                holds = session.scalars(select(Transaction).where(Transaction.store_id == store_id)).all()
                expired = [t for t in holds if t.status == EXPIRED]
                types = Counter(
                    session.scalars(
                        select(Event.type).where(Event.store_id == store_id, Event.seq.is_not(None))
                    )
                )
                notices = session.scalar(select(func.count()).select_from(OverdueNotice))
                reminders = session.scalars(select(Reminder).where(Reminder.store_id == store_id)).all()
                deliveries = Counter(session.scalars(select(WebhookDelivery.status)))
                events = session.scalar(select(func.count()).where(Event.store_id == store_id))
                mismatches = recompute_mismatches(session, store_id)
                session.expunge_all()  # the rows stay readable after the read transaction

            # Holds and overdue notices: each exactly once, and the figures agree with the ledger.
            assert len(expired) == ACCOUNTS and types[TRANSACTION_EXPIRED] == ACCOUNTS
            assert notices == ACCOUNTS and types[INVOICE_OVERDUE] == ACCOUNTS
            assert mismatches == []

            # Reminders: at most once; only the one in flight at the kill is not sent.
            statuses = Counter(reminder.status for reminder in reminders)
            assert len(reminders) == REMINDERS
            assert statuses == {SENT: REMINDERS - 1, ABANDONED: 1}, statuses
            sent_ids = sink.message_ids()
            assert set(sent_ids.values()) == {1}, "a reminder was e-mailed twice"
            assert len(sent_ids) == REMINDERS - 1
            (lost,) = [reminder for reminder in reminders if reminder.status == ABANDONED]
            assert not any(key.startswith(f"<reminder-{lost.id}.") for key in sent_ids)

            # Webhooks: all delivered, at least once, in order per account.
            assert deliveries == {DELIVERED: events}
            assert_in_order_per_account(receiver, database, store_id)
        finally:
            database.dispose()
