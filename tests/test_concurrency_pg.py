"""Real concurrency on PostgreSQL: threads, each with its own connection (its own
`database.write()` session, or its own HTTP client), lined up with a barrier so that they hit the
same rows at the same moment. Every race is repeated; after each one the books must balance."""

import threading
import uuid
from collections import Counter
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from customer_credit.errors import DomainError
from customer_credit.invoices import service as invoices
from customer_credit.ledger.service import recompute_mismatches
from customer_credit.transactions import service as transactions
from tests.helpers import account, dec, hold, open_account, purchase

ROUNDS = 5
pytestmark = pytest.mark.postgresql_only


@pytest.fixture
def pg(database):
    if database.is_sqlite:
        pytest.skip("real concurrency is tested on PostgreSQL; SQLite serialises every writer")
    return database


def race(*calls) -> list[tuple[str, object]]:
    """Runs the calls at once, one thread each; returns ("ok", result) or ("refused", code)."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index, call):
        barrier.wait(timeout=10)
        try:
            outcomes[index] = ("ok", call())
        except DomainError as error:
            outcomes[index] = ("refused", error.code)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            outcomes[index] = ("crashed", repr(error))

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    assert not [o for o in outcomes if o[0] == "crashed"], outcomes
    return outcomes


def in_transaction(database, work):
    def call():
        with database.write() as session:
            return work(session)

    return call


def books_balance(database, store) -> None:
    with database.read() as session:
        assert recompute_mismatches(session, store.id) == []


def ledger(api, account_id) -> list[tuple[str, Decimal]]:
    response = api.get(f"/accounts/{account_id}/statements")
    assert response.status_code == 200, response.text
    return [(entry["origin"], dec(entry["value"])) for entry in response.json()["statements"]]


def test_racing_holds_for_the_last_credit_never_both_pass(pg, api, store):
    principal = store.principal()
    for _ in range(ROUNDS):
        opened = open_account(api, credit_limit="100")

        def take(session, account_id=opened["id"]):
            return transactions.create_hold(
                session, principal, account_id, value=Decimal("60"), settle=True, installments=1
            ).public_id

        outcomes = race(in_transaction(pg, take), in_transaction(pg, take))
        assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"], outcomes
        assert ("refused", "InsufficientCredit") in outcomes
        figures = account(api, opened["id"])
        assert dec(figures["preAuthorizedCredit"]) == dec("60")
        assert dec(figures["availableCredit"]) == dec("40")
        books_balance(pg, store)


def test_many_racing_holds_take_exactly_what_fits(pg, api, store):
    principal = store.principal()
    for _ in range(ROUNDS):
        opened = open_account(api, credit_limit="100")

        def take(session, account_id=opened["id"]):
            return transactions.create_hold(
                session, principal, account_id, value=Decimal("30"), settle=True, installments=1
            ).public_id

        outcomes = race(*[in_transaction(pg, take) for _ in range(5)])
        assert Counter(kind for kind, _ in outcomes) == {"ok": 3, "refused": 2}, outcomes
        assert dec(account(api, opened["id"])["preAuthorizedCredit"]) == dec("90")
        books_balance(pg, store)


def test_racing_pay_and_cancel_leave_one_outcome_and_one_entry(pg, api, store):
    principal = store.principal()
    winners = Counter()
    for _ in range(ROUNDS):
        opened = open_account(api, credit_limit="100")
        invoice_id = f"{purchase(api, opened['id'], '25')}-01"

        def pay(session, account_id=opened["id"]):
            return invoices.pay_invoice(session, principal, account_id, invoice_id).status

        def cancel(session, account_id=opened["id"]):
            return invoices.cancel_invoice(session, principal, account_id, invoice_id).status

        outcomes = race(in_transaction(pg, pay), in_transaction(pg, cancel))
        done = [result for kind, result in outcomes if kind == "ok"]
        assert len(done) == 1, outcomes
        assert [kind for kind, _ in outcomes].count("refused") == 1
        refusal = next(result for kind, result in outcomes if kind == "refused")
        winners[done[0]] += 1

        invoice = api.get(f"/accounts/{opened['id']}/invoices/{invoice_id}").json()
        assert invoice["status"] == done[0]
        entries = ledger(api, opened["id"])
        assert len(entries) == 2, entries
        if done[0] == "Paid":
            assert refusal == "InvoiceAlreadyPaid"
            assert entries[1] == ("Payment", dec("25"))
        else:
            assert done[0] == "Cancelled"
            assert refusal != "InvoiceAlreadyPaid"
            assert entries[1] == ("Invoice", dec("25"))
        assert dec(account(api, opened["id"])["balance"]) == 0
        books_balance(pg, store)
    assert sum(winners.values()) == ROUNDS


def test_racing_payments_of_one_invoice_pay_it_once(pg, api, store):
    principal = store.principal()
    for _ in range(ROUNDS):
        opened = open_account(api, credit_limit="100")
        invoice_id = f"{purchase(api, opened['id'], '25')}-01"

        def pay(session, account_id=opened["id"]):
            return invoices.pay_invoice(session, principal, account_id, invoice_id).status

        outcomes = race(*[in_transaction(pg, pay) for _ in range(3)])
        # Paying a paid invoice is a no-op: all succeed, one payment is written.
        assert outcomes == [("ok", "Paid")] * 3
        assert ledger(api, opened["id"]) == [("Invoice", dec("-25")), ("Payment", dec("25"))]
        books_balance(pg, store)


def test_racing_settlements_of_one_transaction_issue_one_set_of_invoices(pg, api, store):
    principal = store.principal()
    for _ in range(ROUNDS):
        opened = open_account(api, credit_limit="1000")
        transaction_id = hold(api, opened["id"], "90", installments=3).json()["id"]

        def settle(session, account_id=opened["id"]):
            settled = transactions.settle(session, principal, account_id, transaction_id, value=Decimal("90"))
            return settled.settled_cents

        outcomes = race(*[in_transaction(pg, settle) for _ in range(3)])
        assert outcomes == [("ok", 9000)] * 3
        listed = api.get(f"/accounts/{opened['id']}/invoices").json()
        assert [i["id"] for i in listed["data"]] == [f"{transaction_id}-0{k}" for k in (1, 2, 3)]
        assert dec(listed["summary"]["total"]) == dec("90")
        assert ledger(api, opened["id"]) == [("Invoice", dec("-90"))]
        figures = account(api, opened["id"])
        assert (dec(figures["balance"]), dec(figures["preAuthorizedCredit"])) == (dec("-90"), 0)
        books_balance(pg, store)


def test_racing_settlements_with_different_values_stay_consistent(pg, api, store):
    principal = store.principal()
    for _ in range(ROUNDS):
        opened = open_account(api, credit_limit="1000")
        transaction_id = hold(api, opened["id"], "90", installments=3).json()["id"]

        def settle(value, account_id=opened["id"]):
            def work(session):
                return transactions.settle(
                    session, principal, account_id, transaction_id, value=Decimal(value)
                ).settled_cents

            return in_transaction(pg, work)

        outcomes = race(settle("90"), settle("60"))
        assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
        # Whichever came last decides the settled value; the invoices and the balance follow it.
        listed = api.get(f"/accounts/{opened['id']}/invoices").json()
        owed = -dec(account(api, opened["id"])["balance"])
        assert owed in (dec("60"), dec("90"))
        assert dec(listed["summary"]["total"]) == owed
        assert sum(dec(entry[1]) for entry in ledger(api, opened["id"])) == -owed
        books_balance(pg, store)


def test_same_idempotency_key_sent_concurrently_has_one_effect(pg, api, store):
    for _ in range(ROUNDS):
        # 60 of 100: a second hold would not fit, so a retry that ran the work again would
        # answer 409 InsufficientCredit instead of replaying the first response.
        opened = open_account(api, credit_limit="100")
        headers = {**api.headers, "Idempotency-Key": f"race-{uuid.uuid4()}"}
        path = f"/api/creditcontrol/accounts/{opened['id']}/transactions"
        body = {"value": "60", "settle": True, "installments": 1}

        def post():
            # A client per thread: each request runs on its own event loop and connection.
            client = TestClient(api.http.app, raise_server_exceptions=False)
            response = client.post(path, json=body, headers=headers)
            return response.status_code, response.content

        outcomes = race(post, post, post)
        assert all(kind == "ok" for kind, _ in outcomes), outcomes
        # A copy that arrives while the first executes is told so (409, in progress, domain.md
        # Retries); every other one gets the one 200.
        responses = {result for _, result in outcomes if b"IdempotencyKeyInProgress" not in result[1]}
        assert len(responses) == 1, responses
        status, content = responses.pop()
        assert status == 200
        assert post() == (200, content)
        assert dec(account(api, opened["id"])["preAuthorizedCredit"]) == dec("60")
        books_balance(pg, store)
