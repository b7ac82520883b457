"""Dunning levels and late fees, on SQLite and PostgreSQL, with the worker's clock frozen on fixed
dates (nothing depends on the wall clock): levels set and read through the API with every bad
input refused naming its field; a level's fee charged once per invoice and step as an invoice of
its own with its ledger entry and event, on the store's calendar; never for a step reached before
the fee existed, for a paid invoice or for a fee invoice; once with two workers at once."""

import threading
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from customer_credit.auth.resources import READ_CONFIGURATION
from customer_credit.credit_control import dunning
from customer_credit.invoices.models import Invoice
from customer_credit.jobs.registry import default_jobs
from customer_credit.jobs.worker import Worker
from customer_credit.ledger.service import recompute_mismatches
from customer_credit.stores.models import StoreConfig
from customer_credit.transactions.models import Transaction
from tests.credit_control.test_adjustments import field_of, invoices_of, statements, store_events
from tests.events.support import run_worker
from tests.helpers import account, dec, open_account, purchase

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
DUE_DAY = date(2026, 12, 1)
DUE = datetime.combine(DUE_DAY, time(15, 0), tzinfo=SAO_PAULO)
LEVELS = [
    {"days": 3, "name": "Friendly", "lateFee": {"fixed": "5"}},
    {"days": 10, "name": "Firm", "lateFee": {"fixed": "2.50", "rate": "0.02", "dueDays": 5}},
    {"days": 30, "name": "Final"},
]


def put_levels(api, levels, *, at: datetime | None = None, clock=None):
    if clock is not None and at is not None:
        clock.set(at)
    return api.put("/dunninglevels", json={"levels": levels})


def in_sao_paulo(database, store) -> None:
    with database.write() as session:
        row = session.get(StoreConfig, store.id)
        if row is None:
            from customer_credit.stores import service as stores

            row = stores.get_config(session, store.id)
            session.add(row)
        row.timezone = "America/Sao_Paulo"


def overdue_invoice(api, database, store, value="100", *, due: datetime = DUE) -> tuple[str, dict]:
    """An account with one invoice due at `due`, issued 30 days before."""
    opened = open_account(api, credit_limit="10000")
    purchase(api, opened["id"], value)
    [invoice] = invoices_of(api, opened["id"])
    with database.write() as session:
        session.execute(
            update(Invoice)
            .where(Invoice.store_id == store.id, Invoice.public_id == invoice["id"])
            .values(due_at=due, original_due_at=due, created_at=due - timedelta(days=30))
        )
    return opened["id"], invoice


def local(day: date, at: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(at), tzinfo=SAO_PAULO)


def fees(database, store) -> list[tuple[str, int, int]]:
    """(overdue invoice's public id, step, fee cents) of every late fee in the store."""
    with database.read() as session:
        rows = session.execute(
            select(Invoice.public_id, Transaction.late_fee_days, Transaction.settled_cents)
            .join(Invoice, Invoice.id == Transaction.late_fee_invoice_id)
            .where(Transaction.store_id == store.id)
            .order_by(Transaction.id)
        ).all()
    return [tuple(row) for row in rows]


def books_are_right(database, store) -> None:
    with database.read() as session:
        assert recompute_mismatches(session, store.id) == []


@pytest.fixture
def levels_set(api, database, store, frozen_clock):
    in_sao_paulo(database, store)
    response = put_levels(api, LEVELS, at=DUE - timedelta(days=40), clock=frozen_clock)
    assert response.status_code == 200, response.text
    return response.json()["levels"]


# --- the levels -------------------------------------------------------------------------------


def test_levels_are_saved_sorted_and_read_back(api, frozen_clock, levels_set):
    assert [level["days"] for level in levels_set] == [3, 10, 30]
    firm = levels_set[1]
    assert firm["name"] == "Firm" and firm["timeOfDay"] == "09:00"
    assert (dec(firm["lateFee"]["fixed"]), dec(firm["lateFee"]["rate"]), firm["lateFee"]["dueDays"]) == (
        Decimal("2.5"),
        Decimal("0.02"),
        5,
    )
    assert firm["lateFee"]["since"] is not None
    assert levels_set[2]["lateFee"]["since"] is None  # no fee
    read = api.get("/dunninglevels").json()["levels"]
    assert read == levels_set
    reader = api.store.api(resources=(READ_CONFIGURATION,))
    assert reader.get("/dunninglevels").json()["levels"] == levels_set
    assert put_levels(reader, []).status_code == 403


def test_a_save_that_changes_nothing_keeps_when_each_fee_began(api, frozen_clock, levels_set):
    later = put_levels(api, LEVELS, at=DUE, clock=frozen_clock).json()["levels"]
    assert [level["lateFee"]["since"] for level in later] == [
        level["lateFee"]["since"] for level in levels_set
    ]
    changed = [{**LEVELS[0], "lateFee": {"fixed": "6"}}, *LEVELS[1:]]
    again = put_levels(api, changed, at=DUE, clock=frozen_clock).json()["levels"]
    assert again[0]["lateFee"]["since"] != levels_set[0]["lateFee"]["since"]
    assert again[1]["lateFee"]["since"] == levels_set[1]["lateFee"]["since"]
    saved = store_events(api, "store.dunning_levels_changed")
    mine = [
        e for e in saved if [lv["name"] for lv in e["data"]["dunningLevels"]] == ["Friendly", "Firm", "Final"]
    ]
    assert len(mine) >= 2  # the first save and the changed fee; the unchanged save wrote none


@pytest.mark.parametrize(
    ("levels", "field"),
    [
        ([{"days": 0, "name": "x"}], "levels[0].days"),
        ([{"days": 3651, "name": "x"}], "levels[0].days"),
        ([{"days": 3, "name": "  "}], "levels[0].name"),
        ([{"days": 3, "name": "x" * 81}], "levels[0].name"),
        ([{"days": 3, "name": "a"}, {"days": 3, "name": "b"}], "levels[1].days"),
        ([{"days": 3, "name": "x", "timeOfDay": "25:00"}], "levels[0].timeOfDay"),
        ([{"days": 3, "name": "x", "timeOfDay": "09:00:30"}], "levels[0].timeOfDay"),
        ([{"days": 3, "name": "x", "subject": "Hi"}], "levels[0].subject"),
        ([{"days": 3, "name": "x", "subject": "Hi", "textBody": "{{ nope }}"}], "levels[0].textBody"),
        ([{"days": 3, "name": "x", "subject": "{% if %}", "textBody": "ok"}], "levels[0].subject"),
        ([{"days": 3, "name": "x", "lateFee": {"fixed": "-1"}}], "levels[0].lateFee.fixed"),
        ([{"days": 3, "name": "x", "lateFee": {"rate": "1.5"}}], "levels[0].lateFee.rate"),
        ([{"days": 3, "name": "x", "lateFee": {"fixed": "1", "dueDays": 366}}], "levels[0].lateFee.dueDays"),
        ([{"days": "three", "name": "x"}], "levels.0.days"),
        ([{"days": d, "name": "x"} for d in range(1, 12)], "levels"),
    ],
)
def test_bad_levels_are_a_400_naming_the_field(api, levels, field):
    got = field_of(put_levels(api, levels))
    assert got == field or got.replace("[", ".").replace("]", "") == field.replace("[", ".").replace("]", "")
    assert api.get("/dunninglevels").json()["levels"] == []


# --- the fees ---------------------------------------------------------------------------------


def test_each_step_charges_its_fee_once_on_the_store_calendar(api, database, store, frozen_clock, levels_set):
    account_id, invoice = overdue_invoice(api, database, store, "100")
    # Days overdue count calendar days in São Paulo: at 23:59 on the 3rd day after, 2 days.
    run_worker(database, local(DUE_DAY + timedelta(days=3), "00:00") - timedelta(minutes=1))
    assert fees(database, store) == []
    run_worker(database, local(DUE_DAY + timedelta(days=3), "00:01"))
    run_worker(database, local(DUE_DAY + timedelta(days=5), "12:00"))
    assert fees(database, store) == [(invoice["id"], 3, 500)]
    # At +10: 2.50 + 2% of the 100.00 still owed.
    run_worker(database, local(DUE_DAY + timedelta(days=10), "08:00"))
    run_worker(database, local(DUE_DAY + timedelta(days=40), "08:00"))
    assert fees(database, store) == [(invoice["id"], 3, 500), (invoice["id"], 10, 450)]

    by_id = {i["id"]: i for i in invoices_of(api, account_id)}
    fee_invoices = [i for i in by_id.values() if i["id"] != invoice["id"]]
    assert sorted(dec(i["value"]) for i in fee_invoices) == [Decimal("4.5"), Decimal(5)]
    assert all(i["status"] == "Opened" and "Late fee" in i["observation"] for i in fee_invoices)
    assert dec(account(api, account_id)["balance"]) == Decimal("-109.50")
    entries = [e for e in statements(api, account_id) if "lateFee" in e["metadata"]]
    assert [(e["origin"], dec(e["value"]), e["metadata"]["lateFee"]["days"]) for e in entries] == [
        ("Invoice", -5, 3),
        ("Invoice", Decimal("-4.5"), 10),
    ]
    charged = [
        e
        for e in store_events(api, "invoice.late_fee_charged")
        if e["data"]["invoice"]["id"] == invoice["id"]
    ]
    assert [e["data"]["changes"]["lateFee"]["days"] for e in charged] == [3, 10]
    assert charged[0]["data"]["ledgerEntries"][0]["value"] == -5
    books_are_right(database, store)


def test_a_fee_invoice_is_due_after_its_own_days_and_bears_no_fee(
    api, database, store, frozen_clock, levels_set
):
    account_id, invoice = overdue_invoice(api, database, store, "100")
    moment = local(DUE_DAY + timedelta(days=10), "08:00")
    run_worker(database, moment)
    [firm] = [i for i in invoices_of(api, account_id) if dec(i["value"]) == Decimal("4.5")]
    due = datetime.fromisoformat(firm["dueDate"].replace("Z", "+00:00"))
    assert due == moment + timedelta(days=5)
    # Far past its own due date, the fee invoice is charged nothing.
    run_worker(database, moment + timedelta(days=60))
    assert [step for invoice_id, step, _ in fees(database, store) if invoice_id == firm["id"]] == []


def test_no_fee_for_a_step_reached_before_the_fee_existed(api, database, store, frozen_clock):
    in_sao_paulo(database, store)
    account_id, invoice = overdue_invoice(api, database, store, "100")
    # The store sets its levels 20 days after the due date: +3 and +10 were reached before.
    assert put_levels(api, LEVELS, at=DUE + timedelta(days=20), clock=frozen_clock).status_code == 200
    run_worker(database, DUE + timedelta(days=25))
    assert fees(database, store) == []
    # An invoice that falls due after the levels were set is charged.
    _, later = overdue_invoice(api, database, store, "100", due=DUE + timedelta(days=21))
    run_worker(database, DUE + timedelta(days=21 + 4))
    assert fees(database, store) == [(later["id"], 3, 500)]


def test_a_paid_or_postponed_invoice_is_not_charged(api, database, store, frozen_clock, levels_set):
    paid_account, paid = overdue_invoice(api, database, store, "100")
    assert api.post(f"/accounts/{paid_account}/invoices/{paid['id']}/payments", json={}).status_code == 200
    _, moved = overdue_invoice(api, database, store, "100")
    with database.write() as session:
        session.execute(
            update(Invoice)
            .where(Invoice.public_id == moved["id"], Invoice.store_id == store.id)
            .values(due_at=DUE + timedelta(days=10))
        )
    run_worker(database, local(DUE_DAY + timedelta(days=5), "12:00"))
    assert fees(database, store) == []


def test_a_rate_only_fee_follows_what_is_still_owed(api, database, store, frozen_clock):
    in_sao_paulo(database, store)
    levels = [{"days": 1, "name": "Interest-like", "lateFee": {"rate": "0.015"}}]
    assert put_levels(api, levels, at=DUE - timedelta(days=40), clock=frozen_clock).status_code == 200
    account_id, invoice = overdue_invoice(api, database, store, "200")
    paid = api.post(f"/accounts/{account_id}/invoices/{invoice['id']}/payments", json={"value": "33.33"})
    assert paid.status_code == 200
    run_worker(database, local(DUE_DAY + timedelta(days=1), "12:00"))
    # 1.5% of 166.67, rounded half to even to the cent: 2.50005 → 2.50.
    assert fees(database, store) == [(invoice["id"], 1, 250)]


def test_the_service_charges_once_even_when_asked_twice(api, database, store, frozen_clock, levels_set):
    account_id, invoice = overdue_invoice(api, database, store, "100")
    moment = local(DUE_DAY + timedelta(days=4), "12:00")
    with database.write() as session:
        assert dunning.charge_late_fees(session, moment) == 1
    with database.write() as session:
        assert dunning.charge_late_fees(session, moment) == 0
        level = dunning.level_for(session, store.id, 3)
        row = session.scalar(select(Invoice).where(Invoice.public_id == invoice["id"]))
        from customer_credit.accounts.models import Account

        owner = session.get_one(Account, row.account_id, with_for_update=True)
        assert dunning.charge_fee(session, owner, row, level, moment) is None
    assert fees(database, store) == [(invoice["id"], 3, 500)]
    books_are_right(database, store)


@pytest.mark.postgresql_only
def test_two_workers_at_once_charge_each_step_once(api, database, store, frozen_clock, levels_set):
    invoices = [overdue_invoice(api, database, store, "100")[1] for _ in range(6)]
    moment = local(DUE_DAY + timedelta(days=12), "12:00")
    jobs = [job for job in default_jobs(1.0) if job.name == "dunning-fees"]
    workers = [Worker(database, jobs=jobs, clock=lambda: moment) for _ in range(2)]
    barrier = threading.Barrier(2)

    def run(worker) -> None:
        barrier.wait()
        for _ in range(3):
            worker.run_once()

    threads = [threading.Thread(target=run, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    charged = fees(database, store)
    assert sorted((invoice_id, step) for invoice_id, step, _ in charged) == sorted(
        (invoice["id"], step) for invoice in invoices for step in (3, 10)
    )
    books_are_right(database, store)


def test_a_store_without_fees_charges_nothing(api, database, store, frozen_clock):
    in_sao_paulo(database, store)
    assert put_levels(api, [{"days": 3, "name": "Only an e-mail"}]).status_code == 200
    overdue_invoice(api, database, store, "100")
    run_worker(database, DUE + timedelta(days=40))
    assert fees(database, store) == []
