"""The server under test, started the way production starts it: `customer-credit serve`
(uvicorn with N worker processes, uvloop + httptools) and `customer-credit worker` beside it."""

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path

from loadgen.server import free_port

BIN = Path(sys.executable).parent


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids) -> float:
    """User + system CPU the processes have used so far."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / _TICKS
    return total


class CpuMeter(threading.Thread):
    """The CPU a changing set of processes spends from start() to stop(): it samples them every
    `interval_s`, so processes that end during the run (a pooled database connection closed)
    still count, and those born during it count whole."""

    def __init__(self, list_pids: Callable[[], Iterable[int]], interval_s: float = 0.2):
        super().__init__(daemon=True)
        self.list_pids = list_pids
        self.interval_s = interval_s
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self._done = threading.Event()

    def _sample(self) -> None:
        for pid in self.list_pids():
            used = cpu_seconds([pid])
            self.first.setdefault(pid, 0.0)
            self.last[pid] = max(self.last.get(pid, 0.0), used)

    def start(self) -> "CpuMeter":
        for pid in self.list_pids():
            self.first[pid] = self.last[pid] = cpu_seconds([pid])
        super().start()
        return self

    def run(self) -> None:
        while not self._done.wait(self.interval_s):
            self._sample()

    def stop(self) -> float:
        self._done.set()
        self.join()
        self._sample()
        return sum(max(0.0, self.last[pid] - self.first[pid]) for pid in self.last)


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Server:
    def __init__(
        self,
        database_url: str,
        *,
        workers: int,
        data_dir: Path,
        log_path: Path,
        with_worker: bool = True,
        extra_env: dict[str, str] | None = None,
    ):
        self.database_url = database_url
        self.workers = workers
        self.data_dir = data_dir
        self.log_path = log_path
        self.with_worker = with_worker
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "CUSTOMER_CREDIT_DATABASE_URL": database_url,
            "CUSTOMER_CREDIT_HOST": "127.0.0.1",
            "CUSTOMER_CREDIT_PORT": str(self.port),
            "CUSTOMER_CREDIT_WORKERS": str(workers),
            "CUSTOMER_CREDIT_DATA_DIR": str(data_dir),
            "CUSTOMER_CREDIT_BENCH_ENDPOINTS": "true",
            "CUSTOMER_CREDIT_SECRET_KEY": "bench-secret-" + "x" * 40,
            **(extra_env or {}),
        }
        self.process: subprocess.Popen | None = None
        self.worker_process: subprocess.Popen | None = None
        self._log = None

    @property
    def command(self) -> list[str]:
        return [str(BIN / "customer-credit"), "serve", "--workers", str(self.workers), "--no-upgrade-db"]

    def start(self, timeout_s: float = 60) -> "Server":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the children, closed by stop()
        self.process = subprocess.Popen(
            self.command, env=self.env, stdout=self._log, stderr=self._log, start_new_session=True
        )
        if self.with_worker:
            self.worker_process = subprocess.Popen(
                [str(BIN / "customer-credit"), "worker"],
                env=self.env,
                stdout=self._log,
                stderr=self._log,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=2) as answer:
                    if answer.status == 200 and len(self.worker_pids()) >= (
                        self.workers if self.workers > 1 else 0
                    ):
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server did not answer /healthz within {timeout_s} s; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: uvicorn's workers, or the server itself with one."""
        if self.process is None:
            return []
        if self.workers <= 1:
            return [self.process.pid]
        return sorted(pid for pid in _children(self.process.pid) if "resource_tracker" not in _cmdline(pid))

    def rss(self) -> dict[int, float]:
        return {pid: rss_mib(pid) for pid in self.worker_pids()}

    def stop(self) -> None:
        for process in (self.process, self.worker_process):
            if process is None or process.poll() is not None:
                continue
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for process in (self.process, self.worker_process):
            if process is None:
                continue
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()
