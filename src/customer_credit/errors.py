"""Domain errors: each has a stable code and an HTTP status; one handler renders them all."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import IntegrityError


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    """The one shape every error leaves the service in (API handlers, middleware, idempotent
    replays)."""
    return {"error": {"code": code, "message": message, "details": details or []}}


class DomainError(Exception):
    status_code = 400
    code = "BadRequest"
    # Seconds after which a retry may succeed, sent as Retry-After (429, a key still executing).
    retry_after_s: int | None = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[Any] | None = None,
        retry_after_s: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or []
        if retry_after_s is not None:
            self.retry_after_s = retry_after_s

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


class InvalidInput(DomainError):
    status_code = 400
    code = "InvalidInput"


class Unauthorized(DomainError):
    status_code = 401
    code = "Unauthorized"


class Forbidden(DomainError):
    status_code = 403
    code = "Forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "NotFound"


class Conflict(DomainError):
    """A rule of the product refuses the change; `code` says which one."""

    status_code = 409
    code = "Conflict"


class ConcurrentConflict(Conflict):
    """What the database's IntegrityError means to a caller: a race lost against a concurrent
    request that wrote the same unique row first."""

    code = "ConcurrentConflict"

    def __init__(self) -> None:
        super().__init__("a concurrent request changed this first; retry")


@contextmanager
def integrity_errors_as_conflicts() -> Iterator[None]:
    """Raises ConcurrentConflict for an IntegrityError of the block (put it outside the write
    transaction: the commit is where most of them surface)."""
    try:
        yield
    except IntegrityError as error:
        raise ConcurrentConflict() from error


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "PayloadTooLarge"


class UnsupportedMediaType(DomainError):
    status_code = 415
    code = "UnsupportedMediaType"


class RateLimited(DomainError):
    status_code = 429
    code = "RateLimited"

    def __init__(self, message: str, *, retry_after_s: int):
        super().__init__(message, retry_after_s=retry_after_s)


def field_error(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", details=[{"field": field, "message": message}])
