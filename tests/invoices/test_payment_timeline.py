"""Every payment of an invoice leaves a row in invoice_payments, on SQLite and PostgreSQL, through
the API and the service layer: the day the money was received, the amount (a reversal is a
negative row), where it was recorded, by whom, and the late interest due at that moment, which
paying takes off the invoice's figures. The API's answers stay what they were."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from customer_credit.errors import InvalidInput
from customer_credit.invoices import service as invoices
from customer_credit.invoices.models import Invoice
from customer_credit.invoices.payments import InvoicePayment
from customer_credit.stores.models import StoreConfig
from tests.credit_control.test_apply_balance import apply, credit_of, new_invoice
from tests.helpers import configure, dec, open_account, purchase

NOW = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock(frozen_clock):
    frozen_clock.set(NOW)
    return frozen_clock


def one_invoice(api, value="100") -> tuple[str, dict]:
    account_id = open_account(api, credit_limit="1000")["id"]
    purchase(api, account_id, value)
    (invoice,) = api.get(f"/accounts/{account_id}/invoices").json()["data"]
    return account_id, invoice


def timeline(database, invoice_id: str) -> list[InvoicePayment]:
    with database.read() as session:
        found = session.scalars(
            select(InvoicePayment)
            .join(Invoice, Invoice.id == InvoicePayment.invoice_id)
            .where(Invoice.public_id == invoice_id)
            .order_by(InvoicePayment.recorded_at, InvoicePayment.id)
        ).all()
        session.expunge_all()
        return list(found)


def paid_cents(database, invoice_id: str) -> int:
    with database.read() as session:
        return session.scalar(select(Invoice.paid_cents).where(Invoice.public_id == invoice_id))


def make_overdue(database, invoice_id: str, due_at: datetime) -> None:
    with database.write() as session:
        session.execute(
            update(Invoice)
            .where(Invoice.public_id == invoice_id)
            .values(due_at=due_at, original_due_at=due_at)
        )


def set_zone(api, database, store, zone: str) -> None:
    configure(api)  # the store's configuration row, saved
    with database.write() as session:
        session.get(StoreConfig, store.id).timezone = zone


def test_a_partial_then_a_full_payment_give_two_rows_that_add_up_to_what_was_paid(
    api, database, store, clock
):
    account_id, invoice = one_invoice(api, "100")
    path = f"/accounts/{account_id}/invoices/{invoice['id']}/payments"
    assert api.post(path, json={"value": "30"}).status_code == 200
    clock.set(NOW + timedelta(hours=2))
    assert api.post(path).status_code == 200

    rows = timeline(database, invoice["id"])
    assert [row.amount_cents for row in rows] == [3000, 7000]
    assert sum(row.amount_cents for row in rows) == paid_cents(database, invoice["id"]) == 10000
    assert [row.recorded_at for row in rows] == [NOW, NOW + timedelta(hours=2)]
    assert {row.paid_on for row in rows} == {date(2026, 6, 10)}
    assert {row.method for row in rows} == {"api"}
    assert {row.recorded_by for row in rows} == {api.headers["X-VTEX-API-AppKey"]}
    assert {row.reference for row in rows} == {None}
    assert {row.interest_due_cents for row in rows} == {0}  # not overdue, no interest configured


def test_the_api_payment_answers_as_before(api, database, clock):
    account_id, invoice = one_invoice(api, "100")
    paid = api.post(f"/accounts/{account_id}/invoices/{invoice['id']}/payments", json={"value": "40"})
    assert paid.status_code == 200, paid.text
    answer = paid.json()
    assert set(answer) == set(invoice)  # no new field on the wire
    assert (answer["status"], dec(answer["creditValue"])) == ("Opened", 40)
    assert answer == api.get(f"/accounts/{account_id}/invoices/{invoice['id']}").json()
    assert len(timeline(database, invoice["id"])) == 1


def test_an_overdue_payment_records_the_interest_then_due(api, database, store, clock):
    configure(api, dailyInterestRate="0.01")
    account_id, invoice = one_invoice(api, "100")
    make_overdue(database, invoice["id"], NOW - timedelta(days=3))
    path = f"/accounts/{account_id}/invoices/{invoice['id']}"
    assert dec(api.get(path).json()["interest"]) == dec("3.00")  # 100 × 3 days × 1%

    assert api.post(f"{path}/payments", json={"value": "40"}).status_code == 200
    clock.set(NOW + timedelta(days=1))
    assert dec(api.get(path).json()["interest"]) == dec("2.40")  # 60 × 4 days × 1%
    assert api.post(f"{path}/payments").status_code == 200
    assert dec(api.get(path).json()["interest"]) == 0  # paid: the figure is gone…

    rows = timeline(database, invoice["id"])  # …and kept here
    assert [(row.amount_cents, row.interest_due_cents) for row in rows] == [(4000, 300), (6000, 240)]
    assert [row.paid_on for row in rows] == [date(2026, 6, 10), date(2026, 6, 11)]


def test_a_backdated_payment_records_the_interest_due_the_day_the_money_arrived(api, database, store, clock):
    configure(api, dailyInterestRate="0.01")
    account_id, invoice = one_invoice(api, "100")
    make_overdue(database, invoice["id"], NOW - timedelta(hours=1))
    clock.set(NOW + timedelta(days=5))
    with database.write() as session:
        invoices.pay_invoice(
            session,
            store.principal(name="ops@example.com"),
            account_id,
            invoice["id"],
            now=NOW + timedelta(days=5),
            paid_on=date(2026, 6, 12),  # two days after the due date, three before today
            reference="  TED 0042  ",
            method="console",
        )
    (row,) = timeline(database, invoice["id"])
    assert (row.amount_cents, row.paid_on, row.interest_due_cents) == (10000, date(2026, 6, 12), 200)
    assert (row.reference, row.method, row.recorded_by) == ("TED 0042", "console", "ops@example.com")
    assert row.recorded_at == NOW + timedelta(days=5)


def test_a_reversal_is_recorded_as_a_negative_row(api, database, clock):
    account_id, invoice = one_invoice(api, "100")
    path = f"/accounts/{account_id}/invoices/{invoice['id']}"
    assert api.post(f"{path}/payments", json={"value": "25"}).status_code == 200
    assert api.put(path, json={"status": "Paid"}).status_code == 200
    assert api.put(path, json={"status": "Opened"}).status_code == 200
    assert api.put(path, json={"status": "Opened"}).status_code == 200  # already Opened: nothing

    rows = timeline(database, invoice["id"])
    assert [row.amount_cents for row in rows] == [2500, 7500, -10000]
    assert sum(row.amount_cents for row in rows) == paid_cents(database, invoice["id"]) == 0
    assert rows[-1].interest_due_cents == 0 and rows[-1].method == "api"


def test_a_payment_from_the_balance_is_recorded(api, database, clock):
    account_id = credit_of(api, "100")
    invoice = new_invoice(api, account_id, "60")
    assert apply(api, account_id, invoice["id"], value="60", reference="apply-7").status_code == 200
    (row,) = timeline(database, invoice["id"])
    assert (row.amount_cents, row.method, row.reference) == (6000, "balance", "apply-7")


def refusal(database, store, account_id: str, invoice_id: str, **payment) -> InvalidInput:
    with pytest.raises(InvalidInput) as refused, database.write() as session:
        invoices.pay_invoice(session, store.principal(), account_id, invoice_id, **payment)
    return refused.value


def test_a_payment_date_after_today_in_the_store_zone_is_refused(api, database, store, clock):
    account_id, invoice = one_invoice(api, "100")
    set_zone(api, database, store, "America/Sao_Paulo")
    late_evening = datetime(2026, 6, 11, 2, 0, tzinfo=UTC)  # still 10 June in São Paulo
    error = refusal(database, store, account_id, invoice["id"], now=late_evening, paid_on=date(2026, 6, 11))
    assert error.details == [{"field": "paidOn", "message": "must not be after today (2026-06-10)"}]
    assert paid_cents(database, invoice["id"]) == 0 and timeline(database, invoice["id"]) == []

    with database.write() as session:
        invoices.pay_invoice(
            session, store.principal(), account_id, invoice["id"], now=late_evening, value=Decimal("10")
        )
    (row,) = timeline(database, invoice["id"])
    assert row.paid_on == date(2026, 6, 10)  # the default: the store's today, not UTC's


def test_a_payment_date_before_the_invoice_was_created_is_refused(api, database, store, clock):
    account_id, invoice = one_invoice(api, "100")
    error = refusal(database, store, account_id, invoice["id"], now=NOW, paid_on=date(2026, 6, 9))
    assert [detail["field"] for detail in error.details] == ["paidOn"]
    assert "before the invoice was created" in error.message
    assert paid_cents(database, invoice["id"]) == 0


def test_a_reference_longer_than_200_characters_is_refused(api, database, store, clock):
    account_id, invoice = one_invoice(api, "100")
    error = refusal(database, store, account_id, invoice["id"], now=NOW, reference="x" * 201)
    assert error.details == [{"field": "reference", "message": "must be at most 200 characters"}]
    assert paid_cents(database, invoice["id"]) == 0 and timeline(database, invoice["id"]) == []
    with database.write() as session:
        invoices.pay_invoice(
            session, store.principal(), account_id, invoice["id"], now=NOW, reference="y" * 200
        )
    assert [row.reference for row in timeline(database, invoice["id"])] == ["y" * 200]
