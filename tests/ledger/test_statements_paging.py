"""Statements are paged by default: without `from`/`to`, GET …/statements answers at most
STATEMENTS_PAGE entries and a `nextCursor`; following the cursors gives every entry of the
window once, oldest first, and each page's balances chain to the next (docs/performance.md,
"Statements paging"). Entries are written straight through the ledger (one transaction, chosen
moments, ties included) so that a ledger longer than a page costs little to build."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from customer_credit.accounts import service as accounts
from customer_credit.errors import InvalidInput
from customer_credit.ledger import service as ledger
from customer_credit.ledger.cursor import MAX_CURSOR_LENGTH, decode_cursor, encode_cursor
from customer_credit.ledger.models import CREDIT, INVOICE, PAYMENT, STATEMENT
from customer_credit.ledger.statements import (
    STATEMENTS_PAGE,
    StatementPosition,
    list_statements,
    page_statements,
)
from tests.contract import assert_matches, is_error_shape
from tests.helpers import open_account

STATEMENTS = "/api/creditcontrol/accounts/{creditAccountId}/statements"
START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
ORIGINS = (STATEMENT, PAYMENT, INVOICE, CREDIT)


def entry_specs(count: int, *, same_moment: int = 3) -> list[tuple[str, int, datetime]]:
    """(origin, cents, moment): every origin, both signs, and `same_moment` entries per moment,
    so that pages end inside a run of equal created_at and only the id orders them."""
    specs = []
    for number in range(count):
        origin = ORIGINS[number % len(ORIGINS)]
        cents = (number % 97 + 1) * (-1 if number % 3 else 1)
        specs.append((origin, cents, START + timedelta(minutes=number // same_moment)))
    return specs


def append_entries(database, store, account_id: str, specs) -> None:
    """Writes the entries in one transaction, as the services do (row lock, stored balance)."""
    with database.write() as session:
        account = accounts.lock_open_account(session, store.principal(), account_id)
        for number, (origin, cents, moment) in enumerate(specs):
            ledger.append_entry(
                session,
                account,
                origin=origin,
                value_cents=cents,
                done_by="paging-tests",
                meta={"n": number},
                at=moment,
            )


def exact(response) -> dict:
    return json.loads(response.text, parse_float=Decimal)


def get_page(api, account_id: str, **params) -> dict:
    response = api.get(f"/accounts/{account_id}/statements", params=params)
    assert_matches("get", STATEMENTS, response)
    return exact(response)


def moved(entries: list[dict]) -> Decimal:
    """What the entries moved B: Credit entries move nothing."""
    return sum((entry["value"] for entry in entries if entry["origin"] != CREDIT), Decimal(0))


def walk(api, account_id: str, **params) -> list[dict]:
    """Every page of the window, following nextCursor; checks that each page's balances chain."""
    pages = [get_page(api, account_id, **params)]
    while pages[-1]["nextCursor"] is not None:
        pages.append(get_page(api, account_id, **params, cursor=pages[-1]["nextCursor"]))
    for page, following in zip(pages, pages[1:], strict=False):
        assert len(page["statements"]) == STATEMENTS_PAGE
        assert page["previousBalance"] + moved(page["statements"]) == following["previousBalance"]
    for page in pages:
        assert page["intervalBalance"] == sum((entry["value"] for entry in page["statements"]), Decimal(0))
        assert page["count"] == pages[0]["count"]
        assert page["currentBalance"] == pages[0]["currentBalance"]
    return pages


def expected_wire(specs, numbers) -> list[tuple]:
    return [(specs[n][0], Decimal(specs[n][1]) / 100, n) for n in numbers]


def as_tuples(entries: list[dict]) -> list[tuple]:
    return [(entry["origin"], entry["value"], entry["metadata"]["n"]) for entry in entries]


@pytest.fixture
def long_ledger(api, database, store):
    """An account with two full pages and a bit: 1,100 entries, three per moment."""
    account_id = open_account(api, credit_limit="100")["id"]
    specs = entry_specs(2 * STATEMENTS_PAGE + 100)
    append_entries(database, store, account_id, specs)
    return account_id, specs


# --- over HTTP -----------------------------------------------------------------------------


def test_the_default_page_is_bounded_and_the_cursor_walks_every_entry_once(api, long_ledger):
    account_id, specs = long_ledger
    first = get_page(api, account_id)
    assert len(first["statements"]) == STATEMENTS_PAGE
    assert first["count"] == len(specs)
    assert isinstance(first["nextCursor"], str)
    assert first["previousBalance"] == 0

    pages = walk(api, account_id)
    assert [len(page["statements"]) for page in pages] == [500, 500, 100]
    assert pages[-1]["nextCursor"] is None
    entries = [entry for page in pages for entry in page["statements"]]
    assert as_tuples(entries) == expected_wire(specs, range(len(specs)))
    # The last page ends at B now, and B is what every entry moved.
    last = pages[-1]
    assert last["previousBalance"] + moved(last["statements"]) == last["currentBalance"] == moved(entries)
    assert exact(api.get(f"/accounts/{account_id}"))["balance"] == last["currentBalance"]


def test_the_cursor_walks_a_date_window(api, long_ledger):
    account_id, specs = long_ledger
    # Moments hold three entries each: entries 300 … 1,019 lie in [moment 100, moment 339].
    window = {
        "dateFrom": (START + timedelta(minutes=100)).isoformat(),
        "dateTo": (START + timedelta(minutes=339)).isoformat(),
    }
    pages = walk(api, account_id, **window)
    assert [len(page["statements"]) for page in pages] == [500, 220]
    assert pages[0]["count"] == 720
    entries = [entry for page in pages for entry in page["statements"]]
    assert as_tuples(entries) == expected_wire(specs, range(300, 1020))
    before_window = sum(cents for origin, cents, _ in specs[:300] if origin != CREDIT)
    assert pages[0]["previousBalance"] == Decimal(before_window) / 100

    # A cursor from before the window skips nothing the window holds.
    early_cursor = get_page(api, account_id)["nextCursor"]  # after entry 499 ...
    window_from_entry_600 = {"dateFrom": (START + timedelta(minutes=200)).isoformat()}
    from_the_start = get_page(api, account_id, **window_from_entry_600)
    assert from_the_start["statements"][0]["metadata"]["n"] == 600
    with_early_cursor = get_page(api, account_id, **window_from_entry_600, cursor=early_cursor)
    assert with_early_cursor == from_the_start
    # ... and one past the window's end gives an empty last page.
    last_cursor = pages[0]["nextCursor"]
    after_the_end = get_page(
        api, account_id, dateTo=(START + timedelta(minutes=10)).isoformat(), cursor=last_cursor
    )
    assert after_the_end["statements"] == [] and after_the_end["nextCursor"] is None
    assert after_the_end["intervalBalance"] == 0
    assert after_the_end["previousBalance"] == pages[1]["previousBalance"]  # B where it points


def test_a_ledger_of_one_page_answers_as_before(api, database, store):
    account_id = open_account(api, credit_limit="100")["id"]
    specs = entry_specs(12)
    append_entries(database, store, account_id, specs)
    page = get_page(api, account_id)
    assert as_tuples(page["statements"]) == expected_wire(specs, range(12))
    assert page["nextCursor"] is None
    assert page["count"] == 12
    assert page["previousBalance"] == 0
    assert page["intervalBalance"] == sum((Decimal(cents) for _, cents, _ in specs), Decimal(0)) / 100
    assert page["currentBalance"] == moved(page["statements"])


def test_a_positional_window_points_to_what_follows_it(api, database, store):
    account_id = open_account(api, credit_limit="100")["id"]
    specs = entry_specs(10)
    append_entries(database, store, account_id, specs)
    head = get_page(api, account_id, **{"from": 1, "to": 4})
    assert as_tuples(head["statements"]) == expected_wire(specs, range(4))
    # The positional window keeps its balances (the whole date window), and says where to go on.
    assert head["count"] == 10 and head["previousBalance"] == 0
    rest = get_page(api, account_id, cursor=head["nextCursor"])
    assert as_tuples(rest["statements"]) == expected_wire(specs, range(4, 10))
    assert rest["previousBalance"] == moved(head["statements"])
    assert rest["nextCursor"] is None
    assert get_page(api, account_id, **{"from": 7, "to": 10})["nextCursor"] is None
    assert get_page(api, account_id, **{"from": 11, "to": 20})["nextCursor"] is None


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "WzEsMiwzLDRd.c2lnbmF0dXJl",
        "x" * (MAX_CURSOR_LENGTH + 1),
        "é" * 10,
        encode_cursor(StatementPosition(1, START, 1, 0), "another-secret-key-" + "y" * 32),
    ],
)
def test_a_bad_cursor_is_a_400_naming_it(api, cursor):
    account_id = open_account(api)["id"]
    response = api.get(f"/accounts/{account_id}/statements", params={"cursor": cursor})
    assert response.status_code == 400, response.text
    assert is_error_shape(response)
    assert [detail["field"] for detail in response.json()["error"]["details"]] == ["cursor"]


def test_an_altered_or_foreign_cursor_is_a_400(api, other_api, database, store):
    account_id = open_account(api, credit_limit="100")["id"]
    append_entries(database, store, account_id, entry_specs(5))
    cursor = get_page(api, account_id, **{"from": 1, "to": 2})["nextCursor"]
    # The first character carries six bits of the signed payload: any other one changes it.
    altered = ("X" if cursor[0] != "X" else "Y") + cursor[1:]
    another_account = open_account(api)["id"]
    other_stores_account = open_account(other_api)["id"]
    for sender, target, sent in [
        (api, account_id, altered),
        (api, another_account, cursor),
        (other_api, other_stores_account, cursor),
    ]:
        response = sender.get(f"/accounts/{target}/statements", params={"cursor": sent})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["details"][0]["field"] == "cursor"


def test_a_cursor_with_from_or_to_is_a_400(api, database, store):
    account_id = open_account(api, credit_limit="100")["id"]
    append_entries(database, store, account_id, entry_specs(5))
    cursor = get_page(api, account_id, **{"from": 1, "to": 2})["nextCursor"]
    for positions in ({"from": 1}, {"to": 3}, {"from": 1, "to": 3}):
        response = api.get(f"/accounts/{account_id}/statements", params={"cursor": cursor, **positions})
        assert response.status_code == 400
        assert response.json()["error"]["details"][0]["field"] == "cursor"


# --- the service ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """What a page held, read inside its session (the entries do not outlive it)."""

    lines: list[tuple[int, int, int, int]]  # entry id, its "n", its value, B after it
    previous: int
    interval: int
    current: int
    count: int
    next_position: StatementPosition | None


def seen(page) -> Seen:
    return Seen(
        lines=[
            (line.entry.id, line.entry.meta["n"], line.entry.value_cents, line.balance_after_cents)
            for line in page.lines
        ],
        previous=page.previous_balance_cents,
        interval=page.interval_balance_cents,
        current=page.current_balance_cents,
        count=page.count,
        next_position=page.next_position,
    )


def read_page(database, store, account_id: str, *, limit: int, after=None, since=None, until=None) -> Seen:
    with database.read() as session:
        return seen(
            page_statements(
                session, store.principal(), account_id, since=since, until=until, after=after, limit=limit
            )
        )


def read_positional(database, store, account_id: str, *, since=None, until=None) -> Seen:
    with database.read() as session:
        return seen(
            list_statements(session, store.principal(), account_id, since=since, until=until, window=None)
        )


def walk_service(database, store, account_id: str, *, limit: int, since=None, until=None) -> list[Seen]:
    pages = [read_page(database, store, account_id, limit=limit, since=since, until=until)]
    while pages[-1].next_position is not None:
        after = pages[-1].next_position
        pages.append(
            read_page(database, store, account_id, limit=limit, after=after, since=since, until=until)
        )
    return pages


def test_small_pages_chain_and_agree_with_the_running_balance(database, store, api):
    account_id = open_account(api, credit_limit="100")["id"]
    append_entries(database, store, account_id, entry_specs(40, same_moment=5))
    every = read_positional(database, store, account_id)

    pages = walk_service(database, store, account_id, limit=7)
    assert [len(page.lines) for page in pages] == [7, 7, 7, 7, 7, 5]
    walked = [line for page in pages for line in page.lines]
    assert walked == every.lines
    assert [line[1] for line in walked] == list(range(40))
    for page, following in zip(pages, pages[1:], strict=False):
        assert following.previous == page.lines[-1][3]
    for page in pages:
        assert page.interval == sum(value for _, _, value, _ in page.lines)
        assert page.count == 40
    assert pages[0].previous == 0
    assert pages[-1].lines[-1][3] == pages[-1].current


def test_a_page_of_a_date_window_starts_from_the_balance_before_it(database, store, api):
    account_id = open_account(api, credit_limit="100")["id"]
    specs = entry_specs(30, same_moment=2)
    append_entries(database, store, account_id, specs)
    since, until = START + timedelta(minutes=4), (START + timedelta(minutes=11), True)
    positional = read_positional(database, store, account_id, since=since, until=until)
    assert positional.previous == sum(cents for origin, cents, _ in specs[:8] if origin != CREDIT)

    pages = walk_service(database, store, account_id, limit=4, since=since, until=until)
    assert pages[0].previous == positional.previous
    walked = [line for page in pages for line in page.lines]
    assert walked == positional.lines
    assert [line[1] for line in walked] == list(range(8, 24))
    assert {page.count for page in pages} == {16}


def test_entries_written_during_a_walk_come_on_its_later_pages(database, store, api):
    account_id = open_account(api, credit_limit="100")["id"]
    append_entries(database, store, account_id, entry_specs(10))
    first = read_page(database, store, account_id, limit=6)
    later = [(STATEMENT, -500, START + timedelta(days=1)), (PAYMENT, 200, START + timedelta(days=1))]
    append_entries(database, store, account_id, later)

    rest = read_page(database, store, account_id, limit=6, after=first.next_position)
    assert [line[1] for line in rest.lines] == [6, 7, 8, 9, 0, 1]
    assert rest.next_position is None
    assert rest.previous == first.lines[-1][3]
    assert rest.lines[-1][3] == rest.current
    assert rest.count == 12


def test_a_cursor_round_trips_and_refuses_changes():
    position = StatementPosition(
        account_id=42, created_at=START + timedelta(microseconds=7), entry_id=10**12, balance_after_cents=-123
    )
    secret = "test-secret-key-" + "x" * 32
    token = encode_cursor(position, secret)
    assert len(token) < MAX_CURSOR_LENGTH
    assert decode_cursor(token, secret) == position
    for sent in (token + "x", token.replace(".", ".x", 1), token[1:]):
        with pytest.raises(InvalidInput) as refused:
            decode_cursor(sent, secret)
        assert [detail["field"] for detail in refused.value.details] == ["cursor"]
