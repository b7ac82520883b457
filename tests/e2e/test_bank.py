"""Money safety under concurrency: many clients against a real server process, then the books.

See loadgen/bank.py for the operations and the invariants. PostgreSQL gets the full
concurrency; SQLite (one process, writers serialised) fewer clients. Both always run in
`make test`; in CI the PostgreSQL one fails rather than skips when the database is missing."""

import os

import pytest

from loadgen.bank import BankConfig, run_bank

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("CUSTOMER_CREDIT_BANK_SECONDS", "20"))


def _assert_clean(bank) -> None:
    report = bank.report()
    assert report["operations"] > 200, "the load hardly ran"
    # Every kind of money movement was exercised and some of it succeeded.
    for op in (
        "hold",
        "hold_update",
        "settle",
        "settle_change",
        "pay_full",
        "pay_partial",
        "invoice_cancel",
        "refund",
        "postpone",
        "credit_limit",
        "tolerance",
    ):
        assert report["per_type"].get(op, {}).get("answers", {}).get("2xx", 0) > 0, f"no 2xx for {op}"
    assert report["retries"] > 0 and report["simultaneous_duplicates"] > 0
    assert report["figure_samples_checked"] > 0
    assert report["server_errors"] == 0, bank.summary()
    assert bank.violations == [], bank.summary()


def test_bank_on_postgresql(postgresql_url, tmp_path):
    bank = run_bank(postgresql_url, tmp_path, BankConfig(seconds=SECONDS, clients=24, accounts_per_store=6))
    _assert_clean(bank)


def test_bank_on_sqlite(sqlite_url, tmp_path):
    bank = run_bank(
        sqlite_url, tmp_path, BankConfig(seconds=SECONDS * 0.5, clients=8, accounts_per_store=5, seed=7)
    )
    _assert_clean(bank)
