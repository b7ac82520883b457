"""`customer-credit serve` and `customer-credit worker`: the long-running processes."""

import json
import os
from typing import Annotated

import typer

from customer_credit.cli.database import open_database
from customer_credit.cli.db import db_upgrade
from customer_credit.cli.errors import fail
from customer_credit.cli.moved_clock import CONFIRM_FLAG, CONFIRM_HELP, guard_moved_clock
from customer_credit.settings import get_settings


def serve(
    host: Annotated[str | None, typer.Option(help="Defaults to CUSTOMER_CREDIT_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Defaults to CUSTOMER_CREDIT_PORT.")] = None,
    workers: Annotated[int | None, typer.Option(help="Server processes.")] = None,
    upgrade_db: Annotated[bool, typer.Option("--upgrade-db/--no-upgrade-db")] = True,
    moved_clock_confirmed: Annotated[bool, typer.Option(CONFIRM_FLAG, help=CONFIRM_HELP)] = False,
) -> None:
    """Serve the HTTP API (uvicorn)."""
    import uvicorn

    from customer_credit import logs

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    # Before anything else, so a second `make run` says so in one line, not in a traceback.
    refusal = _why_cannot_listen(host, port)
    if refusal is not None:
        fail(refusal)
    logs.configure(settings.log_level)
    # Server worker processes build the app themselves; this tells create_app to set up the
    # same JSON logging in each of them.
    os.environ[logs.CONFIGURE_IN_APP_ENV] = "true"
    if upgrade_db:
        db_upgrade()
    if settings.run_worker_in_process:
        guard_moved_clock(settings, confirmed=moved_clock_confirmed)
    uvicorn.run(
        "customer_credit.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers or settings.workers,
        log_config=None,
        access_log=False,
        timeout_keep_alive=settings.keep_alive_s,
        timeout_graceful_shutdown=10,
    )


def _why_cannot_listen(host: str, port: int) -> str | None:
    """Binds the address as uvicorn will (SO_REUSEADDR, so a port left in TIME_WAIT by the
    last run is free) and lets it go at once; None when the server can listen there."""
    import errno
    import socket

    try:
        family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as error:
        return f"cannot listen on {host}: {error.strerror}; set CUSTOMER_CREDIT_HOST"
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is already in use; "
                    "set CUSTOMER_CREDIT_PORT or stop the other server"
                )
            return f"cannot listen on port {port} on {host}: {error.strerror}; set CUSTOMER_CREDIT_PORT"
    return None


def worker(
    once: Annotated[bool, typer.Option(help="Run every job once and exit.")] = False,
    now: Annotated[
        str | None,
        typer.Option(
            help="Pretend the time is this ISO instant (e.g. 2026-12-01T10:00:00Z) and run on "
            "from there; CUSTOMER_CREDIT_CLOCK_OFFSET_DAYS moves the clock by whole days instead."
        ),
    ] = None,
    moved_clock_confirmed: Annotated[bool, typer.Option(CONFIRM_FLAG, help=CONFIRM_HELP)] = False,
) -> None:
    """Run the background jobs (expired holds, overdue invoices, webhooks, reminders)."""
    from customer_credit import logs
    from customer_credit.clock import shifted_clock
    from customer_credit.dates import parse_datetime
    from customer_credit.errors import DomainError
    from customer_credit.jobs.worker import Worker

    settings = get_settings()
    logs.configure(settings.log_level)
    start_at = None
    if now is not None:
        try:
            start_at = parse_datetime("--now", now)
        except DomainError as error:
            fail(error)
    else:
        guard_moved_clock(settings, confirmed=moved_clock_confirmed)
    runner = Worker(open_database(), interval_s=settings.worker_interval_s)
    runner.clock = shifted_clock(offset_days=settings.clock_offset_days, start_at=start_at)
    if once:
        typer.echo(json.dumps(runner.run_once()))
        return
    try:
        runner.run_forever()
    except KeyboardInterrupt:
        runner.stop()
