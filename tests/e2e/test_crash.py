"""Crash safety: SIGKILL the server in the middle of a write load, restart it, check the books.

Clients open accounts, hold, settle and pay (partly), every request with an Idempotency-Key
(the hold's orderId is its key, so a hold applied twice would show). A killer SIGKILLs the
server process a few times at random moments; while it is down, clients whose request got no
answer wait and then re-send it with the same key. After each kill, before the restart, the
database as the crash left it is checked:
- every request answered 2xx so far is in it: its Idempotency-Key record holds the very status
  and body the client got, and its effect is there (account open, hold present, settlement with
  its invoices);
- nothing is half-applied: stored figures equal the ledger, every settled transaction has its
  invoices and its settlement entry (loadgen.bank.check_books).
At the end every request that was answered or in flight is re-sent with its key: each answer must
equal the first 2xx, and the database must not change; payments and holds must exist exactly
once per key."""

import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from loadgen.bank import API, Outcome, check_books, server_log_problems
from loadgen.server import ServerProcess, open_database, provision

pytestmark = pytest.mark.slow


@dataclass
class Sent:
    op: str
    key: str
    method: str
    path: str
    body: bytes | None
    attempts: list[Outcome] = field(default_factory=list)
    value_cents: int = 0
    installments: int = 0

    @property
    def answer(self) -> Outcome | None:
        """The definitive answer: the last attempt that got one."""
        answered = [outcome for outcome in self.attempts if outcome.status is not None]
        return answered[-1] if answered else None

    @property
    def in_flight_once(self) -> bool:
        return any(outcome.status is None for outcome in self.attempts)


class CrashLoad:
    def __init__(self, server: ServerProcess, headers: dict[str, str], clients: int, seed: int):
        self.server = server
        self.headers = headers
        self.clients = clients
        self.seed = seed
        self.up = threading.Event()
        self.up.set()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sent: list[Sent] = []
        self.problems: list[str] = []

    def send(self, client: httpx.Client, sent: Sent) -> Outcome:
        headers = {**self.headers, "Idempotency-Key": sent.key}
        if sent.body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = client.request(sent.method, API + sent.path, headers=headers, content=sent.body)
            return Outcome(response.status_code, response.content)
        except httpx.HTTPError as error:
            return Outcome(None, error=type(error).__name__)

    def request(
        self,
        client: httpx.Client,
        op: str,
        method: str,
        path: str,
        body: str | None = None,
        key: str | None = None,
        **extra,
    ) -> Outcome:
        """Sends until answered: a request that got no answer (the server died) is re-sent with
        the same key once the server is back."""
        sent = Sent(
            op,
            key or f"crash-{uuid.uuid4().hex}",
            method,
            path,
            body.encode() if body is not None else None,
            **extra,
        )
        with self.lock:
            self.sent.append(sent)
        for _ in range(60):
            self.up.wait(timeout=120)
            outcome = self.send(client, sent)
            sent.attempts.append(outcome)
            if outcome.code() == "IdempotencyKeyInProgress":
                # The attempt the kill cut off still holds the key until its claim lapses.
                time.sleep(0.5)
                continue
            if outcome.status is not None:
                if outcome.status >= 500:
                    with self.lock:
                        self.problems.append(f"{op} {method} {path}: {outcome.status} {outcome.raw[:200]!r}")
                return outcome
            time.sleep(0.05)
        raise AssertionError(f"{op} {method} {path}: never answered: {sent.attempts}")

    def client_loop(self, index: int) -> None:
        try:
            self._client_loop(index)
        except Exception as error:  # noqa: BLE001 - a dead client must fail the test, not vanish
            with self.lock:
                self.problems.append(f"client {index}: {type(error).__name__}: {error}")

    def _client_loop(self, index: int) -> None:
        rng = random.Random(self.seed * 100 + index)
        with httpx.Client(base_url=self.server.base_url, timeout=60) as client:
            while not self.stop.is_set():
                document = f"{rng.randrange(10**10, 10**11)}"
                opened = self.request(
                    client,
                    "open",
                    "POST",
                    "/accounts",
                    f'{{"document": "{document}", "documentType": "CPF", '
                    f'"email": "crash-{document}@example.com", "creditLimit": "100000"}}',
                )
                if not opened.ok:
                    continue
                account = opened.json()["id"]
                for _ in range(rng.randint(2, 6)):
                    if self.stop.is_set():
                        break
                    self.purchase(client, rng, account)

    def purchase(self, client: httpx.Client, rng: random.Random, account: str) -> None:
        value = Decimal(rng.randint(1000, 50000)) / 100
        installments = rng.randint(1, 3)
        key = f"crash-{uuid.uuid4().hex}"
        held = self.request(
            client,
            "hold",
            "POST",
            f"/accounts/{account}/transactions",
            f'{{"value": "{value}", "settle": true, "installments": {installments}, "orderId": "{key}"}}',
            key=key,
            value_cents=int(value * 100),
            installments=installments,
        )
        if not held.ok:
            return
        transaction = held.json()["id"]
        settled = self.request(
            client,
            "settle",
            "PUT",
            f"/accounts/{account}/transactions/{transaction}/settlement",
            f'{{"value": "{value}"}}',
            value_cents=int(value * 100),
            installments=installments,
        )
        if not settled.ok:
            return
        for installment in range(1, installments + 1):
            path = f"/accounts/{account}/invoices/{transaction}-{installment:02d}/payments"
            part = Decimal(rng.randint(1, 300)) / 100
            self.request(client, "pay", "POST", path, f'{{"value": "{part}"}}', value_cents=int(part * 100))


def _idempotency_records(database, store_id: int) -> dict[str, tuple[int, bytes]]:
    from customer_credit.idempotency.models import IdempotencyRecord

    with database.read() as session:
        rows = session.execute(
            select(
                IdempotencyRecord.key, IdempotencyRecord.status_code, IdempotencyRecord.response_body
            ).where(IdempotencyRecord.store_id == store_id)
        ).all()
    # A claim whose request is still executing (or died) has no outcome yet: (None, None).
    return {key: (status, None if body is None else bytes(body)) for key, status, body in rows}


def _answered_are_stored(load: CrashLoad, database, store_id: int, upto: int) -> list[str]:
    """Every request answered 2xx (among the first `upto` sent) is in the database."""
    from customer_credit.accounts.models import Account
    from customer_credit.invoices.models import Invoice
    from customer_credit.transactions.models import Transaction

    records = _idempotency_records(database, store_id)
    with database.read() as session:
        open_accounts = set(
            session.scalars(
                select(Account.public_id).where(Account.store_id == store_id, Account.status == "Open")
            )
        )
        transactions = {
            row.public_id: (row.order_id, row.status, row.settled_cents)
            for row in session.execute(
                select(
                    Transaction.public_id, Transaction.order_id, Transaction.status, Transaction.settled_cents
                ).where(Transaction.store_id == store_id)
            )
        }
        invoices = Counter(
            public_id.rsplit("-", 1)[0]
            for public_id in session.scalars(select(Invoice.public_id).where(Invoice.store_id == store_id))
        )
    problems = []
    with load.lock:
        sent = list(load.sent[:upto])
    for request in sent:
        answered = [outcome for outcome in request.attempts if outcome.ok]
        if not answered:
            continue
        first = answered[0]
        stored = records.get(request.key)
        if stored != (first.status, first.raw):
            problems.append(
                f"{request.op} {request.path}: answered {first.status} {first.raw[:120]!r}, "
                f"the database keeps {stored!r:.160}"
            )
        body = first.json()
        if request.op == "open" and body["id"] not in open_accounts:
            problems.append(f"open: account {body['id']} answered 2xx, not open in the database")
        elif request.op == "hold":
            found = transactions.get(body["id"])
            if found is None or found[0] != request.key:
                problems.append(f"hold {body['id']}: answered 2xx, in the database as {found}")
        elif request.op == "settle":
            found = transactions.get(body["id"])
            if found is None or found[1] != "Settled" or found[2] != request.value_cents:
                problems.append(f"settle {body['id']}: answered 2xx, in the database as {found}")
            elif invoices[body["id"]] != request.installments:
                problems.append(
                    f"settle {body['id']}: {invoices[body['id']]} invoices, "
                    f"{request.installments} installments"
                )
    return problems


def _snapshot(database, store_id: int) -> dict:
    from customer_credit.accounts.models import Account
    from customer_credit.idempotency.models import IdempotencyRecord
    from customer_credit.invoices.models import Invoice
    from customer_credit.ledger.models import Statement
    from customer_credit.transactions.models import Transaction

    with database.read() as session:

        def one(query):
            return session.execute(query).one()

        return {
            "accounts": one(
                select(
                    func.count(),
                    func.coalesce(func.sum(Account.balance_cents), 0),
                    func.coalesce(func.sum(Account.pre_authorized_cents), 0),
                ).where(Account.store_id == store_id)
            ),
            "transactions": one(
                select(func.count(), func.coalesce(func.sum(Transaction.settled_cents), 0)).where(
                    Transaction.store_id == store_id
                )
            ),
            "invoices": one(
                select(func.count(), func.coalesce(func.sum(Invoice.paid_cents), 0)).where(
                    Invoice.store_id == store_id
                )
            ),
            "entries": one(
                select(func.count(), func.coalesce(func.sum(Statement.value_cents), 0)).where(
                    Statement.store_id == store_id
                )
            ),
            "keys": one(select(func.count()).where(IdempotencyRecord.store_id == store_id)),
        }


def _exactly_once(load: CrashLoad, database, store_id: int) -> list[str]:
    """Holds and payments exist exactly once per key that was answered 2xx."""
    from customer_credit.ledger.models import PAYMENT, Statement
    from customer_credit.transactions.models import Transaction

    with database.read() as session:
        order_ids = Counter(
            session.scalars(select(Transaction.order_id).where(Transaction.store_id == store_id))
        )
        payments = defaultdict(list)
        for meta, value in session.execute(
            select(Statement.meta, Statement.value_cents).where(
                Statement.store_id == store_id, Statement.origin == PAYMENT
            )
        ):
            payments[f"{meta['transactionId']}-{int(meta['installment']):02d}"].append(value)
    problems = []
    expected_payments = defaultdict(list)
    for request in load.sent:
        answer = request.answer
        if request.op == "hold":
            applied = 1 if answer is not None and answer.ok else 0
            if order_ids[request.key] != applied:
                problems.append(
                    f"hold with key {request.key}: {order_ids[request.key]} transactions, "
                    f"answered {answer.status if answer else None}"
                )
        elif request.op == "pay" and answer is not None and answer.ok:
            expected_payments[request.path.split("/")[4]].append(request.value_cents)
    for invoice_id in set(payments) | set(expected_payments):
        if sorted(payments[invoice_id]) != sorted(expected_payments[invoice_id]):
            problems.append(
                f"invoice {invoice_id}: payments {sorted(payments[invoice_id])} recorded, "
                f"{sorted(expected_payments[invoice_id])} answered 2xx"
            )
    return problems


def run_crash(database_url: str, data_dir, *, kills: int, clients: int, seed: int) -> dict:
    credential = provision(database_url, data_dir)
    database = open_database(database_url, data_dir)
    server = ServerProcess(database_url, data_dir)
    rng = random.Random(seed)
    report = {"kills": 0, "kills_survived": 0, "unanswered_at_kills": 0, "unanswered_but_committed": 0}
    clock = time.monotonic()
    phases = report["phases_s"] = {}

    def phase(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        phases[name] = round(phases.get(name, 0) + now - clock, 1)
        clock = now

    try:
        server.start()
        phase("start")
        with httpx.Client(base_url=server.base_url, headers=credential.headers) as admin:
            config = {
                "dailyInterestRate": 0,
                "invoicePostponementLimit": 0,
                "taxRate": 0,
                "maxPostponementDays": 0,
                "defaultCreditValue": 0,
                "maxPreAuthorizationGrowthRate": 0,
                "myCreditsEnabled": False,
                "toleranceEnabled": False,
                "automaticCheckingAccountCreationEnabled": False,
                "postponementEnabled": False,
            }
            assert admin.put(API + "/storeconfig", json=config).status_code == 200
        load = CrashLoad(server, credential.headers, clients, seed)
        threads = [threading.Thread(target=load.client_loop, args=(index,)) for index in range(clients)]
        for thread in threads:
            thread.start()
        try:
            for _ in range(kills):
                time.sleep(rng.uniform(1.0, 2.5))
                load.up.clear()
                with load.lock:
                    sent_before = len(load.sent)
                phase("load")
                server.kill()
                report["kills"] += 1
                # The database exactly as the crash left it: nothing runs against it now.
                time.sleep(0.2)  # let the clients notice the lost connections
                records = _idempotency_records(database, credential.store_id)
                with load.lock:
                    unanswered = [
                        request
                        for request in load.sent
                        if not request.attempts or request.attempts[-1].status is None
                    ]
                report["unanswered_at_kills"] += len(unanswered)
                report["unanswered_but_committed"] += sum(
                    1 for request in unanswered if records.get(request.key, (None,))[0] is not None
                )
                found = _answered_are_stored(load, database, credential.store_id, sent_before)
                found += check_books(database, [credential.store_id])
                with load.lock:
                    load.problems.extend(f"after kill {report['kills']}: {message}" for message in found)
                phase("checks after kills")
                server.start()
                phase("restarts")
                load.up.set()
                if not found:
                    report["kills_survived"] += 1
            time.sleep(rng.uniform(0.5, 1.5))
        finally:
            load.stop.set()
            load.up.set()
            for thread in threads:
                thread.join(timeout=180)
            phase("load")

        problems = list(load.problems)
        problems += _answered_are_stored(load, database, credential.store_id, len(load.sent))
        problems += check_books(database, [credential.store_id])
        problems += _exactly_once(load, database, credential.store_id)

        # Re-send everything that was answered 2xx or was once in flight, with its key.
        phase("final checks")
        before = _snapshot(database, credential.store_id)
        resend = [
            request
            for request in load.sent
            if request.answer is not None and (request.answer.ok or request.in_flight_once)
        ]

        def resend_share(share: list[Sent]) -> None:
            with httpx.Client(base_url=server.base_url, timeout=60) as client:
                for request in share:
                    answer = request.answer
                    again = load.send(client, request)
                    if answer.ok and (again.status, again.raw) != (answer.status, answer.raw):
                        with load.lock:
                            problems.append(
                                f"re-sent {request.op} {request.path}: {again.status} {again.raw[:120]!r}, "
                                f"first 2xx {answer.raw[:120]!r}"
                            )

        senders = [
            threading.Thread(target=resend_share, args=(resend[index::clients],)) for index in range(clients)
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        resent = len(resend)
        phase("re-sending")
        after = _snapshot(database, credential.store_id)
        if before != after:
            problems.append(f"re-sending with the same keys changed the database: {before} -> {after}")
        server.stop()
        problems += server_log_problems(server.log_text())
        report.update(
            requests=len(load.sent),
            answered_2xx=sum(1 for request in load.sent if request.answer is not None and request.answer.ok),
            in_flight=sum(1 for request in load.sent if request.in_flight_once),
            resent=resent,
            per_op=dict(Counter(request.op for request in load.sent)),
            problems=problems,
        )
        return report
    finally:
        server.stop()
        database.dispose()


def _check(report: dict, kills: int) -> None:
    print(
        f"crash: {report['kills']} SIGKILLs, {report['kills_survived']} survived; "
        f"{report['requests']} requests ({report['per_op']}), {report['answered_2xx']} answered 2xx; "
        f"{report['unanswered_at_kills']} unanswered at the kills, "
        f"{report['unanswered_but_committed']} of them already committed; "
        f"{report['in_flight']} re-sent with their key after a restart, "
        f"{report['resent']} re-sent at the end; {len(report['problems'])} problems; "
        f"seconds: {report['phases_s']}"
    )
    assert report["problems"] == [], "\n".join(report["problems"][:40])
    assert report["kills"] == kills and report["kills_survived"] == kills
    assert report["in_flight"] > 0, "no kill caught a request in flight; the test proved little"
    assert report["per_op"].get("pay", 0) > 0 and report["per_op"].get("settle", 0) > 0


def test_crash_on_postgresql(postgresql_url, tmp_path):
    report = run_crash(postgresql_url, tmp_path, kills=3, clients=6, seed=11)
    _check(report, 3)


def test_crash_on_sqlite(sqlite_url, tmp_path):
    report = run_crash(sqlite_url, tmp_path, kills=2, clients=4, seed=12)
    _check(report, 2)
