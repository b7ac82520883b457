import pytest

from customer_credit import logs


@pytest.fixture(autouse=True)
def no_json_logging(monkeypatch):
    """`worker` and `serve` configure JSON logging on the stderr of the moment, which is
    CliRunner's: it would outlive the run."""
    monkeypatch.setattr(logs, "configure", lambda level: None)
