"""Domain errors: each has a stable code and an HTTP status; one handler renders them all."""

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "BadRequest"

    def __init__(self, message: str, *, code: str | None = None, details: list[Any] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or []

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


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
        super().__init__(message)
        self.retry_after_s = retry_after_s


def field_error(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", details=[{"field": field, "message": message}])
