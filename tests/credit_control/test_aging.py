"""The aging report through the service and the API, on SQLite and PostgreSQL: buckets by
calendar days overdue in the store's time zone (exactly invoices/overdue_days.py's rule, checked
at the bucket boundaries, around local midnight in São Paulo and against a Python recomputation
over random invoices), what is still owed of Opened invoices only, per-account rows that add up
to the store-wide figures, which equal the sum of the open invoices, tenant isolation,
permissions and bad input. Invoices come from `purchase`; their due moments are set in the
database, and "now" is the frozen clock (or `at`)."""

import json
import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from customer_credit.auth.resources import ALL_RESOURCES, MAIN_ACCESS, READ_INVOICES
from customer_credit.credit_control import aging
from customer_credit.invoices.models import OPENED, Invoice
from customer_credit.invoices.overdue_days import days_overdue
from customer_credit.paging import Window
from customer_credit.stores.models import StoreConfig
from tests.contract import is_error_shape
from tests.helpers import configure, dec, open_account, purchase

SAO_PAULO = "America/Sao_Paulo"
BUCKETS = ("current", "days1To30", "days31To60", "days61To90", "over90")


def local(zone: str, text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def in_zone(api, database, store, zone: str) -> None:
    configure(api)
    with database.write() as session:
        session.get(StoreConfig, store.id).timezone = zone


def invoice_due(api, database, store, account_id: str, value, due_at: datetime) -> str:
    """A purchase of `value` in one installment, its invoice due at `due_at`; the invoice id."""
    invoice_id = f"{purchase(api, account_id, str(value))}-01"
    with database.write() as session:
        changed = session.execute(
            update(Invoice)
            .where(Invoice.store_id == store.id, Invoice.public_id == invoice_id)
            .values(due_at=due_at, original_due_at=due_at)
        ).rowcount
    assert changed == 1
    return invoice_id


def get_aging(api, path: str = "/aging", **params) -> dict:
    """The answer with its numbers as Decimals, as they were written."""
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    return json.loads(response.text, parse_float=Decimal)


def amounts(figures: dict) -> dict[str, Decimal]:
    return {name: dec(figures[name]) for name in (*BUCKETS, "total")}


def expected(**buckets) -> dict[str, Decimal]:
    found = {name: dec(buckets.get(name, 0)) for name in BUCKETS}
    return {**found, "total": sum(found.values(), Decimal(0))}


def open_invoices_owed(api, account_id: str | None = None) -> Decimal:
    """What the invoice search lists as still owed on Opened invoices (value − creditValue)."""
    path = f"/accounts/{account_id}/invoices" if account_id else "/invoices"
    response = api.get(path, params={"status": "Opened", "from": 1, "to": 1000})
    assert response.status_code == 200, response.text
    return sum((dec(i["value"]) - dec(i["creditValue"]) for i in response.json()["data"]), Decimal(0))


# --- the rule, without a database --------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(0, 0), (1, 1), (30, 1), (31, 2), (60, 2), (61, 3), (90, 3), (91, 4), (5000, 4)],
)
def test_bucket_of_days_overdue(days, bucket):
    assert aging.bucket_of(days) == bucket


@pytest.mark.parametrize(
    "zone", [SAO_PAULO, "Asia/Tokyo", "America/New_York", "America/Havana", "Asia/Beirut", "UTC"]
)
def test_a_bucket_starts_at_the_first_instant_of_a_local_day(zone):
    """Also on days whose midnight is skipped or repeated (São Paulo moved its clocks at
    midnight until 2019, Havana and Beirut still do)."""
    tz = ZoneInfo(zone)
    day = date(2016, 1, 1)
    while day < date(2027, 1, 1):
        start = aging.start_of_local_day(day, tz)
        assert start.astimezone(tz).date() == day, (zone, day)
        assert (start - timedelta(microseconds=1)).astimezone(tz).date() == day - timedelta(days=1), (
            zone,
            day,
        )
        day += timedelta(days=1)


def test_bucket_starts_agree_with_days_overdue_around_each_boundary():
    zone = ZoneInfo(SAO_PAULO)
    now = local(SAO_PAULO, "2026-12-15T00:01")
    for first_day, start in zip((1, 31, 61, 91), aging.bucket_starts(now, zone), strict=True):
        assert days_overdue(start, now, zone) == first_day - 1
        assert days_overdue(start - timedelta(microseconds=1), now, zone) == first_day


# --- buckets through the API ---------------------------------------------------------------


def test_each_bucket_boundary_by_days_overdue(api, database, store, frozen_clock):
    """Due on the local day `days` before today, at noon, for each boundary day; and one due
    earlier today (past its due moment, 0 days overdue) and one not due yet: both current."""
    in_zone(api, database, store, SAO_PAULO)
    account_id = open_account(api, credit_limit="100000")["id"]
    now = local(SAO_PAULO, "2026-12-15T18:00")
    values = {0: "1", 1: "2", 30: "4", 31: "8", 60: "16", 61: "32", 90: "64", 91: "128"}
    for days, value in values.items():
        due_day = now.date() - timedelta(days=days)
        invoice_due(api, database, store, account_id, value, datetime.combine(due_day, time(12), now.tzinfo))
    invoice_due(api, database, store, account_id, "256", local(SAO_PAULO, "2026-12-15T08:00"))
    invoice_due(api, database, store, account_id, "512", local(SAO_PAULO, "2027-01-20T08:00"))
    frozen_clock.set(now)

    report = get_aging(api)
    want = expected(current=1 + 256 + 512, days1To30=2 + 4, days31To60=8 + 16, days61To90=32 + 64, over90=128)
    assert amounts(report["summary"]) == want
    assert report["summary"]["count"] == 1
    assert (report["day"], report["timezone"]) == ("2026-12-15", SAO_PAULO)
    (row,) = report["data"]
    assert row["creditAccountId"] == account_id and amounts(row) == want
    assert amounts(get_aging(api, f"/accounts/{account_id}/aging")) == want
    # The same figures from the invoices one by one, by their daysOverdue.
    listed = api.get(f"/accounts/{account_id}/invoices", params={"from": 1, "to": 100}).json()["data"]
    by_days: dict[str, Decimal] = dict.fromkeys(BUCKETS, Decimal(0))
    for invoice in listed:
        by_days[BUCKETS[aging.bucket_of(invoice["daysOverdue"])]] += dec(invoice["value"])
    assert by_days == {name: want[name] for name in BUCKETS}


def test_the_store_zone_decides_the_day_around_local_midnight(api, database, store, frozen_clock):
    """São Paulo is UTC−3: 23:59 there is already the next day in UTC. Invoices due at 23:59 and
    00:01 local on each side of a bucket boundary, seen just before and just after midnight."""
    in_zone(api, database, store, SAO_PAULO)
    account_id = open_account(api, credit_limit="100000")["id"]
    dues = {}
    for offset, value in ((0, "1"), (30, "10"), (60, "100"), (90, "1000")):
        day = date(2026, 12, 15) - timedelta(days=offset)
        before = datetime.combine(day - timedelta(days=1), time(23, 59), ZoneInfo(SAO_PAULO))
        after = datetime.combine(day, time(0, 1), ZoneInfo(SAO_PAULO))
        dues[invoice_due(api, database, store, account_id, value, before)] = before
        dues[invoice_due(api, database, store, account_id, dec(value) * 2, after)] = after
    zone = ZoneInfo(SAO_PAULO)
    for moment in ("2026-12-14T23:59:59", "2026-12-15T00:00:00", "2026-12-15T00:01", "2026-12-15T23:59"):
        now = local(SAO_PAULO, moment)
        frozen_clock.set(now)
        want: dict[str, Decimal] = dict.fromkeys(BUCKETS, Decimal(0))
        with database.read() as session:
            for invoice in session.scalars(select(Invoice).where(Invoice.store_id == store.id)):
                days = days_overdue(invoice.due_at, now, zone)
                want[BUCKETS[aging.bucket_of(days)]] += dec(invoice.value_cents) / 100
        report = get_aging(api)
        assert amounts(report["summary"]) == {**want, "total": sum(want.values(), Decimal(0))}, moment
        # The same moment as `at`, in UTC, gives the same answer with any clock.
        frozen_clock.set(now + timedelta(days=400))
        at = now.astimezone(UTC).isoformat()
        assert amounts(get_aging(api, at=at)["summary"]) == amounts(report["summary"])
    # 00:01 on Nov 15 local is 03:01 UTC, and 23:59 on Nov 14 local is 02:59 UTC on Nov 15: in
    # UTC days both would be 30 days overdue on Dec 15; locally they are 30 and 31.
    frozen_clock.set(local(SAO_PAULO, "2026-12-15T12:00"))
    assert amounts(get_aging(api)["summary"]) == expected(
        current=2, days1To30=1 + 20, days31To60=10 + 200, days61To90=100 + 2000, over90=1000
    )


def test_a_date_as_at_is_that_day_in_the_store_zone(api, database, store, frozen_clock):
    in_zone(api, database, store, SAO_PAULO)
    account_id = open_account(api)["id"]
    invoice_due(api, database, store, account_id, "50", local(SAO_PAULO, "2026-12-01T23:30"))
    frozen_clock.set(local(SAO_PAULO, "2027-06-01T12:00"))
    on_due_day = get_aging(api, at="2026-12-01")
    assert amounts(on_due_day["summary"]) == expected(current=50)
    assert on_due_day["at"] == "2026-12-01T03:00:00.000000Z"  # midnight in São Paulo
    assert amounts(get_aging(api, at="2026-12-02")["summary"]) == expected(days1To30=50)
    assert amounts(get_aging(api, at="2026-12-31")["summary"]) == expected(days1To30=50)
    assert amounts(get_aging(api, at="2027-01-01")["summary"]) == expected(days31To60=50)
    assert amounts(get_aging(api)["summary"]) == expected(over90=50)


def test_what_is_owed_counts_and_paid_or_cancelled_invoices_do_not(api, database, store, frozen_clock):
    in_zone(api, database, store, "UTC")
    account_id = open_account(api, credit_limit="10000")["id"]
    now = datetime(2026, 12, 15, 12, tzinfo=UTC)
    partly = invoice_due(api, database, store, account_id, "100.10", now - timedelta(days=45))
    paid = invoice_due(api, database, store, account_id, "70", now - timedelta(days=45))
    cancelled = invoice_due(api, database, store, account_id, "30", now - timedelta(days=45))
    invoice_due(api, database, store, account_id, "0.05", now - timedelta(days=100))
    assert (
        api.post(f"/accounts/{account_id}/invoices/{partly}/payments", json={"value": "33.33"}).status_code
        == 200
    )
    assert api.post(f"/accounts/{account_id}/invoices/{paid}/payments").status_code == 200
    assert api.delete(f"/accounts/{account_id}/invoices/{cancelled}").status_code == 200
    frozen_clock.set(now)

    report = get_aging(api)
    assert amounts(report["summary"]) == expected(days31To60="66.77", over90="0.05")
    assert report["summary"]["total"] == Decimal("66.82")
    assert dec(report["summary"]["total"]) == open_invoices_owed(api)
    # Paying the rest and reversing the payment brings the whole invoice back.
    assert api.post(f"/accounts/{account_id}/invoices/{partly}/payments").status_code == 200
    assert amounts(get_aging(api)["summary"]) == expected(over90="0.05")
    reopened = api.put(f"/accounts/{account_id}/invoices/{partly}", json={"status": "Opened"})
    assert reopened.status_code == 200, reopened.text
    assert amounts(get_aging(api)["summary"]) == expected(days31To60="100.10", over90="0.05")


def test_per_account_rows_add_up_to_the_store_and_are_ordered_and_paged(api, database, store, frozen_clock):
    in_zone(api, database, store, "Asia/Tokyo")
    now = local("Asia/Tokyo", "2026-12-15T09:00")
    totals = {}
    for index, value in enumerate(("10", "300", "45.50", "300", "0.01")):
        account_id = open_account(api, credit_limit="10000")["id"]
        invoice_due(api, database, store, account_id, value, now - timedelta(days=index * 25))
        invoice_due(api, database, store, account_id, "1", now + timedelta(days=3))
        totals[account_id] = dec(value) + 1
    open_account(api)  # owes nothing: not a row
    frozen_clock.set(now)

    report = get_aging(api, **{"from": 1, "to": 100})
    rows = report["data"]
    assert report["summary"]["count"] == len(rows) == 5
    assert [dec(row["total"]) for row in rows] == sorted(totals.values(), reverse=True)
    assert {row["creditAccountId"]: dec(row["total"]) for row in rows} == totals
    for name in (*BUCKETS, "total"):
        assert sum((dec(row[name]) for row in rows), Decimal(0)) == dec(report["summary"][name]), name
    assert dec(report["summary"]["total"]) == open_invoices_owed(api) == sum(totals.values(), Decimal(0))
    for row in rows:
        assert amounts(get_aging(api, f"/accounts/{row['creditAccountId']}/aging")) == amounts(row)
        assert dec(row["total"]) == open_invoices_owed(api, row["creditAccountId"])
    # Ties (the two 301.00) by account id.
    tied = [row["creditAccountId"] for row in rows if dec(row["total"]) == dec("301")]
    assert tied == sorted(tied)
    # from/to window the rows; the summary is always store-wide.
    page = get_aging(api, **{"from": 2, "to": 3})
    assert page["data"] == rows[1:3]
    assert page["summary"] == report["summary"]
    assert get_aging(api)["data"] == rows  # 20 by default
    assert get_aging(api, **{"from": 6, "to": 10})["data"] == []


def test_an_account_that_owes_nothing_has_zero_buckets(api, frozen_clock):
    account_id = open_account(api)["id"]
    assert amounts(get_aging(api, f"/accounts/{account_id}/aging")) == expected()
    empty = get_aging(api)
    assert empty["data"] == [] and empty["summary"]["count"] == 0
    assert amounts(empty["summary"]) == expected()


def test_the_report_matches_a_python_recomputation_over_random_invoices(api, database, store, frozen_clock):
    """Random values, due moments (any minute, up to 200 days back), partial payments,
    payments and cancellations in São Paulo, seen at random moments; two of them near the
    midnights at which São Paulo moved its clocks (2018-11-04 forward, 2019-02-17 back)."""
    rng = random.Random(20261215)
    in_zone(api, database, store, SAO_PAULO)
    zone = ZoneInfo(SAO_PAULO)
    base = local(SAO_PAULO, "2019-02-17T00:30")
    account_ids = [open_account(api, credit_limit="1000000")["id"] for _ in range(4)]
    for _ in range(30):
        account_id = rng.choice(account_ids)
        cents = rng.randint(1, 500_000)
        due = base + timedelta(days=rng.randint(-200, 30), minutes=rng.randint(0, 24 * 60 - 1))
        invoice_id = invoice_due(api, database, store, account_id, dec(cents) / 100, due)
        action = rng.random()
        if action < 0.2:
            assert api.post(f"/accounts/{account_id}/invoices/{invoice_id}/payments").status_code == 200
        elif action < 0.3:
            assert api.delete(f"/accounts/{account_id}/invoices/{invoice_id}").status_code == 200
        elif action < 0.6 and cents > 1:
            part = dec(rng.randint(1, cents - 1)) / 100
            paid = api.post(
                f"/accounts/{account_id}/invoices/{invoice_id}/payments", json={"value": str(part)}
            )
            assert paid.status_code == 200, paid.text
    principal = store.principal()
    with database.read() as session:
        invoices = list(session.scalars(select(Invoice).where(Invoice.store_id == store.id)))
        session.expunge_all()  # kept as loaded: the read session's rollback would expire them
    moments = [
        base,
        local(SAO_PAULO, "2018-11-04T01:30"),
        local(SAO_PAULO, "2018-11-03T23:59"),
        *(base + timedelta(minutes=rng.randint(-300 * 24 * 60, 60 * 24 * 60)) for _ in range(6)),
    ]
    for now in moments:
        recomputed = aging.python_aging(invoices, now, zone)
        # Independently of bucket_of: the ranges of days written out.
        by_hand: dict[int, list[int]] = {}
        for invoice in invoices:
            if invoice.status != OPENED:
                continue
            days = days_overdue(invoice.due_at, now, zone)
            index = 0 if days == 0 else 1 if days <= 30 else 2 if days <= 60 else 3 if days <= 90 else 4
            by_hand.setdefault(invoice.account_id, [0] * 5)[index] += invoice.value_cents - invoice.paid_cents
        assert {key: list(value.cents) for key, value in recomputed.items()} == by_hand
        with database.read() as session:
            report = aging.store_aging(session, principal, now=now)
        assert {row.account_id: row.buckets for row in report.rows} == recomputed, now
        assert report.account_count == len(recomputed)
        assert report.buckets.cents == tuple(sum(column) for column in zip(*by_hand.values(), strict=True))
        assert report.buckets.total == sum(
            invoice.value_cents - invoice.paid_cents for invoice in invoices if invoice.status == OPENED
        )
        frozen_clock.set(now)
        wire = get_aging(api, **{"from": 1, "to": 100})
        assert dec(wire["summary"]["total"]) == dec(report.buckets.total) / 100
        assert [amounts(row) for row in wire["data"]] == [
            {
                **{name: dec(cents) / 100 for name, cents in row.buckets.by_name().items()},
                "total": dec(row.buckets.total) / 100,
            }
            for row in report.rows
        ]


def test_the_service_pages_like_the_api(database, store, api, frozen_clock):
    for value in ("5", "7", "6"):
        invoice_due(api, database, store, open_account(api)["id"], value, datetime(2026, 1, 1, tzinfo=UTC))
    now = datetime(2026, 3, 1, tzinfo=UTC)
    with database.read() as session:
        whole = aging.store_aging(session, store.principal(), now=now)
        page = aging.store_aging(session, store.principal(), now=now, window=Window(1, 1))
    assert [row.buckets.total for row in whole.rows] == [700, 600, 500]
    assert page.rows == whole.rows[1:2] and page.buckets == whole.buckets and page.account_count == 3


# --- tenants, permissions, bad input ---------------------------------------------------------


def test_another_store_never_sees_these_invoices(api, other_api, database, store, frozen_clock):
    account_id = open_account(api)["id"]
    invoice_due(api, database, store, account_id, "80", datetime(2026, 1, 1, tzinfo=UTC))
    other_account = open_account(other_api)["id"]
    purchase(other_api, other_account, "3")
    frozen_clock.set(datetime(2026, 2, 1, tzinfo=UTC))

    theirs = get_aging(other_api)
    assert [row["creditAccountId"] for row in theirs["data"]] == [other_account]
    assert amounts(theirs["summary"]) == expected(current=3)
    assert amounts(get_aging(api)["summary"]) == expected(days31To60=80)
    refused = other_api.get(f"/accounts/{account_id}/aging")
    assert refused.status_code == 404 and is_error_shape(refused)
    assert refused.json()["error"]["code"] == "AccountNotFound"
    assert account_id not in other_api.get("/aging.csv").text


@pytest.mark.parametrize("path", ["/aging", "/aging.csv", "/accounts/{account}/aging"])
def test_read_invoices_is_needed(store, api, path):
    account_id = open_account(api)["id"]
    url = path.format(account=account_id)
    without = store.api([name for name in ALL_RESOURCES if name not in (MAIN_ACCESS, READ_INVOICES)])
    refused = without.get(url)
    assert refused.status_code == 403, refused.text
    assert is_error_shape(refused)
    assert store.api([READ_INVOICES]).get(url).status_code == 200
    assert store.http.get("/api/creditcontrol" + url).status_code == 401


def test_an_unknown_account_is_a_404(api):
    response = api.get("/accounts/no-such-account/aging")
    assert response.status_code == 404 and is_error_shape(response)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"at": "yesterday"}, "at"),
        ({"at": "2026-13-01"}, "at"),
        ({"at": "2026-02-30T10:00"}, "at"),
        ({"at": "0001-01-01"}, "at"),
        ({"at": "0001-01-01T00:00:00+14:00"}, "at"),
        ({"at": "9999-12-31T23:59:59-12:00"}, "at"),
        ({"at": "x" * 100}, "at"),
        ({"from": "0"}, "from"),
        ({"from": "5", "to": "2"}, "to"),
        ({"from": "1", "to": "2000"}, "to"),
        ({"date": "2026-12-01"}, "date"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, params, field):
    account_id = open_account(api)["id"]
    paths = ["/aging"]
    if set(params) <= {"at"}:
        paths += ["/aging.csv", f"/accounts/{account_id}/aging"]
    for path in paths:
        response = api.get(path, params=params)
        assert response.status_code == 400, (path, response.text)
        assert is_error_shape(response)
        assert field in [detail["field"] for detail in response.json()["error"]["details"]], response.text


def test_bad_at_wins_over_an_unknown_account(api):
    response = api.get("/accounts/no-such-account/aging", params={"at": "soon"})
    assert response.status_code == 400
