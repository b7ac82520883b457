"""Running the command as a person runs it, in this process: the settings are read afresh
from the given environment, and stdout and stderr are kept apart."""

from typer.testing import CliRunner

from customer_credit import cli

# Variables a developer's shell may set; each run states its own instead.
SHELL_SETTINGS = (
    "CUSTOMER_CREDIT_DATABASE_URL",
    "CUSTOMER_CREDIT_DATA_DIR",
    "CUSTOMER_CREDIT_CLOCK_OFFSET_DAYS",
    "CUSTOMER_CREDIT_CLOCK_OFFSET_CONFIRMED",
    "CUSTOMER_CREDIT_RUN_WORKER_IN_PROCESS",
)


def run(env: dict[str, str | None], *args: str):
    cli.get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli.app, list(args), env=dict.fromkeys(SHELL_SETTINGS) | env)
    finally:
        cli.get_settings.cache_clear()


def one_error_line(result) -> str:
    """The single line a failing command printed (no traceback, nothing on stdout)."""
    assert result.exit_code == 2, result.output
    assert result.stdout == "", result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines
    return lines[0]
