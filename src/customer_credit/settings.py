"""Every setting of the service, read from environment variables prefixed CUSTOMER_CREDIT_."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CUSTOMER_CREDIT_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./var/customer-credit.db",
        description="SQLAlchemy URL: sqlite:///path.db (embedded) or postgresql+psycopg://…",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "INFO"
    data_dir: Path = Path("./var")
    # Signs user tokens (VtexIdclientAutCookie). When empty, a random one is kept in data_dir.
    secret_key: str = ""
    max_body_bytes: int = 64 * 1024
    db_pool_size: int = 10
    # Requests per second allowed to one credential; 0 disables rate limiting.
    rate_limit_per_second: float = 0
    rate_limit_burst: int = 100
    # Runs the background jobs inside the API process (the embedded default of `make run`).
    run_worker_in_process: bool = False
    worker_interval_s: float = 5.0

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        import secrets

        self.data_dir.mkdir(parents=True, exist_ok=True)
        key_file = self.data_dir / "secret.key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        self.secret_key = key_file.read_text().strip()
        return self.secret_key


@lru_cache
def get_settings() -> Settings:
    return Settings()
