"""The overdue filter of the invoice search service (the console's "Expired"): Opened and past
due at the moment asked, one condition even within op=or."""

from datetime import UTC, datetime, timedelta

from customer_credit.invoices.overdue_days import is_overdue
from customer_credit.invoices.queries import InvoiceFilters
from customer_credit.invoices.search import search_invoices
from customer_credit.paging import Window
from tests.helpers import open_account, purchase

# Late on the last day of a month: 30-day installments fall due on 2 March, 1 April and 1 May
# (at 23:30, the purchase's time of day).
NOW = datetime(2031, 1, 31, 23, 30, tzinfo=UTC)


def _found(database, store, filters: InvoiceFilters) -> list[int]:
    with database.read() as session:
        page = search_invoices(session, store.principal(), filters, Window(0, 20))
        return [invoice.installment for invoice, _owner in page.rows]


def test_only_opened_invoices_past_due_are_overdue(database, store, api, frozen_clock):
    frozen_clock.set(NOW)
    account_id = open_account(api)["id"]
    purchase(api, account_id, "90", installments=3)  # due in 30, 60 and 90 days
    first = api.get(f"/accounts/{account_id}/invoices").json()["data"][0]
    assert api.post(f"/accounts/{account_id}/invoices/{first['id']}/payments").status_code == 200
    later = NOW + timedelta(days=70)

    assert _found(database, store, InvoiceFilters(overdue_at=later)) == [2]
    # With op=or the overdue condition stays whole: a Paid invoice past due is not overdue.
    either = InvoiceFilters(status="Paid", overdue_at=later, any_of=True)
    assert _found(database, store, either) == [1, 2]
    assert _found(database, store, InvoiceFilters(overdue_at=NOW)) == []
    # Past due means after the due moment: not at it.
    second_due = NOW + timedelta(days=60)
    assert _found(database, store, InvoiceFilters(overdue_at=second_due)) == []
    assert _found(database, store, InvoiceFilters(overdue_at=second_due + timedelta(seconds=1))) == [2]


def test_the_python_rule_matches_the_filter(database, store, api, frozen_clock):
    frozen_clock.set(NOW)
    account_id = open_account(api)["id"]
    purchase(api, account_id, "20", installments=2)
    later = NOW + timedelta(days=45)
    with database.read() as session:
        page = search_invoices(session, store.principal(), InvoiceFilters(), Window(0, 20))
        overdue = [invoice.installment for invoice, _ in page.rows if is_overdue(invoice, later)]
    assert overdue == _found(database, store, InvoiceFilters(overdue_at=later)) == [1]
