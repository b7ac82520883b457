"""Every setting of the service, read from environment variables prefixed CUSTOMER_CREDIT_."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The longest a My Credits link may work (my_credits.links): a bearer credential sent by e-mail.
MY_CREDITS_LINK_MAX_HOURS = 7 * 24


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CUSTOMER_CREDIT_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./var/customer-credit.db",
        description="SQLAlchemy URL: sqlite:///path.db (embedded) or postgresql+psycopg://…",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # Longer than clients' own idle limit (httpx and most pools: 5 s; load balancers: 60 s), so
    # the client, not the server, closes an idle keep-alive connection: a request sent on a
    # connection the server is closing at that instant is lost as a connection reset.
    keep_alive_s: int = 75
    log_level: str = "INFO"
    data_dir: Path = Path("./var")
    # Signs user tokens (VtexIdclientAutCookie). When empty, a random one is kept in data_dir.
    secret_key: str = ""
    max_body_bytes: int = 64 * 1024
    # As many PostgreSQL connections as request threads (anyio's 40): with fewer, the requests
    # beyond the pool opened and closed a connection each (hundreds a second under load).
    db_pool_size: int = 40
    # A streaming replica (PostgreSQL) for the reads that may lag: searches, CSV exports and
    # console lists; empty: the primary serves everything (docs/read-replica-and-pgbouncer.md).
    read_database_url: str = ""
    # The database URLs go through a transaction pooler (pgbouncer, pool_mode=transaction):
    # psycopg then prepares no statements, since a prepared statement stays on a server
    # connection that the pooler hands to another client after the transaction.
    db_transaction_pooler: bool = False
    # Requests per second allowed to one credential; 0 disables rate limiting.
    rate_limit_per_second: float = 0
    rate_limit_burst: int = 100
    # Several server processes or hosts (docs/scaling.md): with a Redis URL the rate limiter's
    # buckets live there, so a credential's limit holds across every node; empty keeps them in
    # each process (one node needs no Redis). The prefix starts every key written there.
    redis_url: str = ""
    redis_key_prefix: str = "customer-credit:"
    # Runs the background jobs inside the API process (the embedded default of `make run`).
    run_worker_in_process: bool = False
    worker_interval_s: float = 5.0
    # How long a new My Credits link works when its creator does not say (at most 7 days).
    my_credits_link_ttl_hours: int = Field(default=72, ge=1, le=MY_CREDITS_LINK_MAX_HOURS)

    # Moves the worker's clock (reminders, overdue invoices, hold expiry) this many days ahead
    # of the real time, to try schedules without waiting; `worker --now` does the same once.
    clock_offset_days: float = 0
    # The moved clock expires real holds and makes real invoices overdue for good, so `worker`
    # and `serve` refuse it on a database that is not demo data unless this confirms it
    # (or --i-know-this-moves-real-holds); see docs/decisions.md.
    clock_offset_confirmed: bool = False

    # E-mail (due-date reminders). "eml" writes each message as a .eml file into mail_eml_dir
    # (the embedded default: no mail server needed); "smtp" sends it through smtp_host.
    mail_backend: str = Field(default="eml", pattern="^(eml|smtp)$")
    mail_eml_dir: Path | None = None  # default: <data_dir>/outbox
    mail_sender: str = "Customer Credit <credit@localhost>"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_starttls: bool = False  # upgrade a plain connection with STARTTLS
    smtp_tls: bool = False  # implicit TLS from the first byte (SMTPS, usually port 465)
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_timeout_s: float = 20.0
    # A failed send is retried after retry_base_s, doubling each time, at most max_attempts.
    reminder_max_attempts: int = 8
    reminder_retry_base_s: float = 60.0
    # A worker that was down sends the reminders it missed during at most this many days.
    reminder_catch_up_days: int = 7

    # Webhooks: each attempt waits at most timeout_s; failures are retried after
    # retry_base_s, doubling up to retry_max_delay_s, for at most retry_window_s (3 days).
    webhook_timeout_s: float = 10.0
    webhook_retry_base_s: float = 5.0
    webhook_retry_max_delay_s: float = 6 * 3600.0
    webhook_retry_window_s: float = 3 * 24 * 3600.0
    webhook_batch_size: int = 50
    webhook_concurrency: int = 8  # POSTs in flight at once per worker
    # Webhooks only reach public addresses; this comma-separated list of host names and/or
    # IPs/CIDRs ("erp.internal, 10.1.2.0/24") also allows those internal receivers.
    webhook_allowed_hosts: str = ""

    @field_validator("webhook_allowed_hosts")
    @classmethod
    def _parseable_allow_list(cls, value: str) -> str:
        from customer_credit.events.destinations import parse_allow_list

        parse_allow_list(value)  # a typo stops the service at start, not at the first webhook
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        import secrets

        from customer_credit.private_files import write_private_text

        key_file = self.data_dir / "secret.key"
        if not key_file.exists():
            write_private_text(key_file, secrets.token_urlsafe(48))
        self.secret_key = key_file.read_text().strip()
        return self.secret_key


@lru_cache
def get_settings() -> Settings:
    return Settings()
