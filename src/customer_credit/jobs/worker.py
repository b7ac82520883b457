"""The worker: runs the periodic jobs in a loop (as `customer-credit worker`, or as a thread
inside the API process in the embedded mode).

Any number of workers may run at once, on one host or many (PostgreSQL): every job claims its
rows with row locks (SKIP LOCKED) or unique keys, so each item is handled once; see
docs/read-replica-and-pgbouncer.md for what a worker killed mid-job leaves behind."""

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime

from customer_credit.db.base import utcnow
from customer_credit.db.engine import Database
from customer_credit.jobs.registry import DatabaseJob, PeriodicJob, default_jobs

log = logging.getLogger("customer_credit.worker")


class Worker:
    def __init__(
        self,
        db: Database,
        *,
        interval_s: float = 5.0,
        jobs: list[PeriodicJob] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.db = db
        self.jobs = jobs if jobs is not None else default_jobs(interval_s)
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_run = {job.name: 0.0 for job in self.jobs}

    def run_once(self) -> dict[str, int]:
        """Runs every job now until it has nothing left; returns the items each handled."""
        handled = {}
        for job in self.jobs:
            handled[job.name] = self._run_job(job)
        return handled

    def _run_job(self, job: PeriodicJob) -> int:
        total = 0
        while not self._stop.is_set():
            try:
                if isinstance(job, DatabaseJob):
                    count = job.run(self.db, self.clock())
                else:
                    with self.db.write() as session:
                        count = job.run(session, self.clock())
            except Exception:
                log.exception("job failed", extra={"job": job.name})
                return total
            total += count
            if count == 0:
                break
        if total:
            log.info("job ran", extra={"job": job.name, "handled": total})
        return total

    def run_forever(self) -> None:
        if threading.current_thread() is threading.main_thread():
            # A stop (systemd, a deploy) lets the batch in hand finish: killed mid-send, a
            # reminder would be abandoned (never sent twice) and a webhook sent again later.
            signal.signal(signal.SIGTERM, lambda _signum, _frame: self._stop.set())
        log.info("worker started", extra={"jobs": [job.name for job in self.jobs]})
        while not self._stop.is_set():
            now = time.monotonic()
            for job in self.jobs:
                if now >= self._next_run[job.name]:
                    self._run_job(job)
                    self._next_run[job.name] = now + job.every_s
            self._stop.wait(min((job.every_s for job in self.jobs), default=1.0))

    def start_thread(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="customer-credit-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
