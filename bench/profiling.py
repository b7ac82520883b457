"""Sampling profiles of the server under load (py-spy, pinned in requirements-dev.lock):
where the workers' CPU goes, by function and by layer."""

import shutil
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# A frame's file tells its layer; the first match wins.
LAYERS = (
    ("customer_credit", "service code (customer_credit)"),
    ("sqlalchemy", "SQLAlchemy"),
    ("psycopg", "psycopg (driver)"),
    ("sqlite3", "sqlite3 (driver)"),
    ("pydantic", "pydantic"),
    ("fastapi", "FastAPI"),
    ("starlette", "Starlette"),
    ("anyio", "anyio (thread pool hand-off)"),
    ("uvicorn", "uvicorn"),
    ("httptools", "uvicorn"),
    ("orjson", "JSON (orjson)"),
    ("json", "JSON (stdlib)"),
    ("logging", "logging"),
    ("asyncio", "asyncio / uvloop"),
    ("uvloop", "asyncio / uvloop"),
    ("threading", "threads"),
    ("concurrent", "threads"),
)


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise RuntimeError("py-spy is missing: pip install -r requirements-dev.lock")
    return found


@dataclass
class Profile:
    title: str
    samples: int = 0
    self_time: Counter = field(default_factory=Counter)
    inclusive: Counter = field(default_factory=Counter)
    layers: Counter = field(default_factory=Counter)
    raw_path: Path | None = None

    def top(self, counter: Counter, count: int = 12) -> list[tuple[str, float]]:
        return (
            [(name, hits / self.samples) for name, hits in counter.most_common(count)] if self.samples else []
        )


def _frame_name(frame: str) -> tuple[str, str]:
    """'func (path/to/file.py:123)' → ('file.py:func', 'path/to/file.py')."""
    name, _, location = frame.rpartition(" (")
    path = location.rstrip(")").rsplit(":", 1)[0]
    short = "/".join(Path(path).parts[-2:]) if path else "?"
    return f"{short}:{name or frame}", path


def _layer(path: str) -> str:
    for needle, layer in LAYERS:
        if f"/{needle}/" in path or f"/{needle}." in path or path.startswith(needle):
            return layer
    return "other (interpreter, stdlib)"


def analyse(raw: str, title: str) -> Profile:
    """Reads py-spy's raw (collapsed stacks) output."""
    profile = Profile(title=title)
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        hits = int(count)
        frames = [_frame_name(frame) for frame in stack.split(";") if frame]
        if not frames:
            continue
        profile.samples += hits
        leaf_name, leaf_path = frames[-1]
        profile.self_time[leaf_name] += hits
        profile.layers[_layer(leaf_path)] += hits
        for name in {name for name, _path in frames if "customer_credit" in _path or "sqlalchemy" in _path}:
            profile.inclusive[name] += hits
    return profile


class Recorder:
    """py-spy record on the server's worker processes, for `duration_s`, in the background."""

    def __init__(self, pids: list[int], duration_s: float, out_dir: Path, title: str):
        self.pids = pids
        self.duration_s = duration_s
        self.out_dir = out_dir
        self.title = title
        self.outputs: list[Path] = []
        self._threads: list[threading.Thread] = []
        self.errors: list[str] = []

    def start(self) -> "Recorder":
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for pid in self.pids:
            out = self.out_dir / f"{self.title.replace(' ', '-')}-{pid}.txt"
            self.outputs.append(out)
            thread = threading.Thread(target=self._record, args=(pid, out), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _record(self, pid: int, out: Path) -> None:
        command = [
            py_spy(),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(self.duration_s))),
            "--rate",
            "200",
            "--nonblocking",
            "--gil",
            "--format",
            "raw",
            "--output",
            str(out),
        ]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=self.duration_s + 60)
        if completed.returncode != 0:
            self.errors.append(completed.stderr[-500:])

    def finish(self) -> Profile:
        for thread in self._threads:
            thread.join()
        raw = "\n".join(path.read_text() for path in self.outputs if path.exists())
        profile = analyse(raw, self.title)
        combined = self.out_dir / f"{self.title.replace(' ', '-')}.txt"
        combined.write_text(raw)
        profile.raw_path = combined
        return profile
