"""The admin console's pages on a large book: an operator signs in through the sign-in form,
then each GET page is asked for one at a time (a person at a browser, not a crowd), and its
p50/p95 over the requests after a warm-up are the figures (issue 17's target: ≤ 300 ms at
100,000 invoices). `python -m bench --only console` runs this alone."""

import re
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
from sqlalchemy import text

from bench import data
from bench.results import Row
from bench.server import CpuMeter, Server

EMAIL = "console-bench@example.com"
PASSWORD = "console bench password 17"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# Issue 17's target for every console page, p95.
TARGET_MS = 300.0


@dataclass
class ConsoleBook:
    url: str
    store_id: int
    accounts: int
    invoices: int
    seconds: float
    account_id: str
    invoice_path: str
    value: str


def fill(url: str, *, accounts: int, invoices: int, seed: int) -> ConsoleBook:
    """The demo book in store `bench` and an admin operator of it; an account with invoices,
    one of its invoices and an invoice value that exists, for the pages that need them."""
    from customer_credit.console.invoices_pages import invoice_url
    from customer_credit.demo.service import load_demo
    from customer_credit.stores.service import get_store
    from customer_credit.users import service as users

    db = data.database(url)
    try:
        started = time.perf_counter()
        report = load_demo(db, store_name=data.STORE, accounts=accounts, invoices=invoices, seed=seed)
        seconds = time.perf_counter() - started
        with db.write() as session:
            users.create_operator(session, get_store(session, data.STORE), EMAIL, "admin", PASSWORD)
        with db.read() as session:
            # The middle invoice by id: an ordinary one, the same for a given seed and size.
            account_id, invoice_id, value_cents = session.execute(
                text(
                    "select a.public_id, i.public_id, i.value_cents from invoices i "
                    "join accounts a on a.id = i.account_id where i.store_id = :s "
                    "order by i.id limit 1 offset :n"
                ),
                {"s": report.store_id, "n": max(0, report.invoices // 2)},
            ).one()
        return ConsoleBook(
            url=url,
            store_id=report.store_id,
            accounts=report.accounts,
            invoices=report.invoices,
            seconds=seconds,
            account_id=account_id,
            invoice_path=invoice_url(account_id, invoice_id),
            value=f"{value_cents // 100}.{value_cents % 100:02d}",
        )
    finally:
        db.dispose()


def pages(book: ConsoleBook) -> list[tuple[str, str]]:
    """(label, path) of every console GET page measured."""
    return [
        ("dashboard", "/admin"),
        ("accounts", "/admin/accounts"),
        ("account", f"/admin/accounts/{quote(book.account_id, safe='')}"),
        ("invoices", "/admin/invoices"),
        ("invoices, status=Opened", "/admin/invoices?status=Opened"),
        ("invoices, status=Expired", "/admin/invoices?status=Expired"),
        ("invoices, sort=-value", "/admin/invoices?sort=-value"),
        ("invoices, value filter", f"/admin/invoices?value={book.value}"),
        ("invoices, page 50", "/admin/invoices?page=50"),
        ("invoice", book.invoice_path),
        ("aging", "/admin/aging"),
        ("payments received, this month", "/admin/payments"),
        ("settings", "/admin/settings"),
        ("checkout", "/admin/checkout"),
    ]


def sign_in(client: httpx.Client) -> None:
    """Signs in through the form, as a browser does; the client keeps the session cookie."""
    form = client.get("/admin/sign-in")
    form.raise_for_status()
    found = _CSRF.search(form.text)
    if not found:
        raise RuntimeError("no csrf_token on the sign-in page")
    answer = client.post(
        "/admin/sign-in", data={"email": EMAIL, "password": PASSWORD, "csrf_token": found.group(1)}
    )
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in answered {answer.status_code}: {answer.text[:300]}")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(server: Server, book: ConsoleBook, database: str, *, requests: int, warmup: int) -> list[Row]:
    """Each page `warmup` times unmeasured, then `requests` times in a row on one connection."""
    rows = []
    backends = data.Backends(book.url)
    with httpx.Client(base_url=server.base_url, timeout=60, follow_redirects=False) as client:
        sign_in(client)
        for label, path in pages(book):
            for _ in range(warmup):
                # A failure here is counted below, when it happens again.
                with suppress(httpx.HTTPError):
                    client.get(path)
            timings, errors = [], 0
            meter = CpuMeter(server.worker_pids).start()
            database_meter = CpuMeter(backends).start()
            started = time.perf_counter()
            for _ in range(requests):
                began = time.perf_counter()
                try:
                    ok = client.get(path).status_code == 200
                except httpx.HTTPError:
                    ok = False
                timings.append((time.perf_counter() - began) * 1000)
                errors += not ok
            elapsed = time.perf_counter() - started
            cpu_s, database_cpu_s = meter.stop(), database_meter.stop()
            row = Row(
                scenario="console",
                label=f"{label} (`{path if len(path) < 60 else path[:57] + '…'}`)",
                database=database,
                connections=1,
                duration_s=elapsed,
                requests=requests,
                throughput=requests / max(elapsed, 1e-9),
                unit="req/s",
                p50_ms=_percentile(timings, 0.50),
                p95_ms=_percentile(timings, 0.95),
                p99_ms=_percentile(timings, 0.99),
                errors=errors,
                server_cpu_ms=cpu_s * 1000 / max(requests, 1),
                # None on SQLite, whose work is the server's own.
                database_cpu_ms=None
                if book.url.startswith("sqlite")
                else database_cpu_s * 1000 / max(requests, 1),
            )
            rows.append(row)
    backends.close()
    return rows


def run_console(
    url: str,
    database_label,
    *,
    accounts: int,
    invoices: int,
    seed: int,
    workers: int,
    workdir: Path,
    name: str,
    requests: int,
    warmup: int,
) -> tuple[ConsoleBook, list[Row]]:
    """Fills the book, starts `customer-credit serve` on it, measures every page."""
    book = fill(url, accounts=accounts, invoices=invoices, seed=seed)
    database = database_label(data.server_version(url), book.invoices)
    server = Server(
        url,
        workers=workers,
        data_dir=workdir / name,
        log_path=workdir / f"server-{name}.log",
        with_worker=False,
    )
    with server:
        rows = measure(server, book, database, requests=requests, warmup=warmup)
    return book, rows
