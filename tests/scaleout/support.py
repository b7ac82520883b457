"""Shared by the scale-out tests: finding which process owns a TCP connection (to kill the worker
that is in the middle of a send), a system tool that CI must have, and worker processes."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI

SECRET_KEY = "scaleout-secret-key-" + "z" * 32


def require_tool(name: str, package: str) -> str:
    """The tool's path; skips without it, but fails in CI, where the Makefile installs it."""
    found = shutil.which(name) or next(
        (str(path) for path in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if path.exists()), None
    )
    if found is None:
        message = f"{name} is missing (Debian package {package}; `make test` installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def _socket_inodes_with_local_port(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def pid_with_client_port(port: int, pids: list[int]) -> int:
    """Which of `pids` holds the client side of a local TCP connection from `port` (Linux)."""
    wanted = {f"socket:[{inode}]" for inode in _socket_inodes_with_local_port(port)}
    for pid in pids:
        try:
            descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                if os.readlink(descriptor) in wanted:
                    return pid
            except OSError:
                continue
    raise LookupError(f"no process among {pids} has a connection from port {port}")


def cli_command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("customer-credit")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from customer_credit.cli import main; main()", *args]


class WorkerProcess:
    """One `customer-credit worker` process, its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path):
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                cli_command("worker", *args), env=env, stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout_s: float = 30) -> int:
        """SIGTERM: the worker finishes the batch in hand and exits."""
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
