"""Files that hold secrets or the embedded database: created owner-only (0600), in an owner-only
folder, with no moment at which another user of the machine could read them."""

import os
import tempfile
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Creates the folder (and its parents) owner-only if it does not exist yet; an existing
    folder keeps the mode its owner gave it."""
    if not path.exists():
        path.mkdir(parents=True, mode=PRIVATE_DIR_MODE, exist_ok=True)
    return path


def write_private_text(path: Path, text: str) -> None:
    """Writes a temporary file created 0600 beside the target, then renames it over the target,
    so the secret is never in a file another user can read, nor half-written."""
    private_dir(path.parent)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, PRIVATE_FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def touch_private_file(path: Path) -> None:
    """Creates an empty file 0600 if it does not exist (SQLite then writes into it, and gives its
    -wal and -shm files the same mode). An existing file is never opened here: closing any
    descriptor of a SQLite file drops the POSIX locks that this process's connections hold on
    it, which corrupts their view of the database ("disk I/O error")."""
    if path.exists():
        return
    private_dir(path.parent)
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    os.close(descriptor)


def sqlite_path(url: str) -> Path | None:
    """The file behind a sqlite:/// URL, or None for an in-memory database or another engine."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1].split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path)
