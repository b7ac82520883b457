"""The load generator: wrk (Debian's package), a separate C process, driven by bench/lua."""

import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

LUA = Path(__file__).parent / "lua"
RESULT_PREFIX = "BENCH_RESULT "


def ensure_wrk() -> str:
    """The wrk binary; installs Debian's package when it is missing and we may (root)."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise RuntimeError("wrk is missing: install it with `apt-get install -y wrk`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("apt-get installed wrk but it is not on PATH")
    return found


def version() -> str:
    output = subprocess.run([ensure_wrk(), "-v"], capture_output=True, text=True).stdout
    return output.splitlines()[0].strip() if output else "wrk"


@dataclass
class LoadResult:
    """What one wrk run measured. Latencies in milliseconds."""

    requests: int
    duration_s: float
    ok: int
    client_errors: int
    server_errors: int
    conflicts: int
    other: int
    socket_errors: int
    timeouts: int
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    cycles: int = 0
    broken_cycles: int = 0
    connections: int = 0
    command: list[str] = field(default_factory=list)
    cpu_s: float = 0.0

    @property
    def cores_used(self) -> float:
        """wrk's own CPU use, in cores, over the run."""
        return self.cpu_s / self.duration_s if self.duration_s else 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def errors(self) -> int:
        """Every request that did not answer 2xx, and every socket error or timeout."""
        return self.requests - self.ok + self.socket_errors + self.timeouts


def parse(output: str) -> dict:
    for line in output.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    raise RuntimeError(f"wrk printed no result line:\n{output[-2000:]}")


def run(
    base_url: str,
    scenario: str,
    args: list[str],
    *,
    connections: int,
    threads: int,
    duration_s: float,
    headers: dict[str, str] | None = None,
    timeout_s: int = 10,
    spread_over_ports: list[int] | None = None,
) -> LoadResult:
    """Runs bench/lua/<scenario>.lua (after common.lua) against `base_url`; with
    `spread_over_ports`, wrk's threads take those ports of 127.0.0.1 in turn instead."""
    binary = ensure_wrk()
    script = (LUA / "common.lua").read_text() + "\n" + (LUA / f"{scenario}.lua").read_text()
    with tempfile.NamedTemporaryFile("w", suffix=f"-{scenario}.lua", delete=False) as handle:
        handle.write(script)
        script_path = handle.name
    command = [
        binary,
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(duration_s))}s",
        "--timeout",
        f"{timeout_s}s",
        "-s",
        script_path,
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command += [base_url, "--", *args]
    try:
        env = (
            {**os.environ, "BENCH_PORTS": ",".join(map(str, spread_over_ports))}
            if spread_over_ports
            else None
        )
        stdout, stderr, returncode, cpu_s = _run_measured(command, duration_s + timeout_s + 60, env)
    finally:
        os.unlink(script_path)
    if returncode != 0:
        raise RuntimeError(f"wrk failed ({returncode}): {stderr[-2000:]}")
    raw = parse(stdout)
    return LoadResult(
        requests=raw["requests"],
        duration_s=raw["duration_us"] / 1e6,
        ok=raw["ok"],
        client_errors=raw["client_errors"],
        server_errors=raw["server_errors"],
        conflicts=raw["conflicts"],
        other=raw["other"],
        socket_errors=raw["socket_connect"] + raw["socket_read"] + raw["socket_write"],
        timeouts=raw["timeouts"],
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p95_ms=raw["p95_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        cycles=raw["cycles"],
        broken_cycles=raw["broken_cycles"],
        connections=connections,
        command=[part if "AppToken" not in part else "X-VTEX-API-AppToken: …" for part in command],
        cpu_s=cpu_s,
    )


def _run_measured(
    command: list[str], timeout_s: float, env: dict | None = None
) -> tuple[str, str, int, float]:
    """Runs the command; also returns the CPU seconds (user + system) it used, which shows
    whether the load generator could be the bottleneck."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        deadline = time.monotonic() + timeout_s
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.05)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            process.returncode,
            usage.ru_utime + usage.ru_stime,
        )
