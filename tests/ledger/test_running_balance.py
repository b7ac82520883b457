"""list_statements gives each entry the balance right after it (Credit entries move nothing),
also on a later page and within a date window."""

from customer_credit.ledger.statements import list_statements
from customer_credit.paging import Window
from tests.helpers import open_account


def _debit(api, account_id: str, number: int, value: str) -> None:
    response = api.put(f"/accounts/{account_id}/statements/debit-{number}", json={"value": value})
    assert response.status_code == 200, response.text


def _lines(database, store, account_id: str, **where):
    with database.read() as session:
        page = list_statements(session, store.principal(), account_id, **where)
        lines = [(line.entry.origin, line.balance_after_cents) for line in page.lines]
        return lines, [line.entry.created_at for line in page.lines]


def test_each_entry_carries_the_balance_after_it(database, store, api):
    account_id = open_account(api, credit_limit="100")["id"]
    _debit(api, account_id, 1, "-1")
    assert api.put(f"/accounts/{account_id}/creditlimit", json={"value": "200"}).status_code == 200
    _debit(api, account_id, 2, "-2")
    _debit(api, account_id, 3, "-4")

    every, moments = _lines(database, store, account_id, since=None, until=None, window=None)
    assert every == [("Statement", -100), ("Credit", -100), ("Statement", -300), ("Statement", -700)]

    second_page, _ = _lines(database, store, account_id, since=None, until=None, window=Window(2, 5))
    assert second_page == every[2:]

    # From the third entry's moment on, skipping the first entry of that window: the balances
    # still count everything before it (previousBalance, then the skipped entry).
    since = moments[2]
    in_window = [line for line, moment in zip(every, moments, strict=True) if moment >= since]
    windowed, _ = _lines(database, store, account_id, since=since, until=None, window=Window(1, 5))
    assert windowed == in_window[1:] and windowed[-1] == ("Statement", -700)
