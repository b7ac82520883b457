"""A real server process (uvicorn) on a free local port, and Chromium from the machine's
packages, for the browser tests."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

CHROMIUM = os.environ.get("CUSTOMER_CREDIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DOC_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    def __init__(self, database_url: str, data_dir: Path, secret_key: str):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "server.log"
        env = {
            **os.environ,
            "CUSTOMER_CREDIT_DATABASE_URL": database_url,
            "CUSTOMER_CREDIT_DATA_DIR": str(data_dir),
            "CUSTOMER_CREDIT_SECRET_KEY": secret_key,
            "CUSTOMER_CREDIT_LOG_LEVEL": "WARNING",
            "CUSTOMER_CREDIT_ARGON2_TIME_COST": "1",
            "CUSTOMER_CREDIT_ARGON2_MEMORY_KIB": "1024",
            # A webhook endpoint the browser tests register (nothing listens there).
            "CUSTOMER_CREDIT_WEBHOOK_ALLOWED_HOSTS": "localhost",
        }
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "customer_credit.app:create_app",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log_path.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base_url + "/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("the server did not become ready in 60 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def screenshot(page, name: str, *, for_docs: bool = False) -> Path:
    """Every page goes to test-artifacts/ (not committed); with CUSTOMER_CREDIT_DOC_SCREENSHOTS=1
    the chosen few are also copied to docs/screenshots/ for the README."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if for_docs and os.environ.get("CUSTOMER_CREDIT_DOC_SCREENSHOTS") == "1":
        DOC_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOC_SCREENSHOTS / f"{name}.png")
    return path
