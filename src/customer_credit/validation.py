"""Checks on text that reaches the database or a page: lengths, control characters, e-mails,
URLs and ids that appear in paths."""

import re
from urllib.parse import urlsplit

from customer_credit.errors import field_error

_EMAIL = re.compile(r"^[^@\s<>\"'`]+@[^@\s<>\"'`]+\.[^@\s<>\"'`]+$")
_PATH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(field: str, value: str, *, max_length: int, allow_newlines: bool = True) -> str:
    if len(value) > max_length:
        raise field_error(field, f"must be at most {max_length} characters")
    if _CONTROL.search(value) or (not allow_newlines and ("\n" in value or "\r" in value)):
        raise field_error(field, "must not contain control characters")
    return value


def clean_email(field: str, value: str) -> str:
    value = value.strip()
    clean_text(field, value, max_length=254, allow_newlines=False)
    if not _EMAIL.fullmatch(value):
        raise field_error(field, "must be an e-mail address")
    return value.lower()


def clean_path_id(field: str, value: str, *, max_length: int) -> str:
    """Ids that become part of URLs: letters, digits, '.', '_' and '-'."""
    if not value or len(value) > max_length or not _PATH_ID.fullmatch(value) or ".." in value:
        raise field_error(
            field, f"must be 1 to {max_length} letters, digits, '.', '_' or '-' (no '..')"
        )
    return value


def clean_http_url(field: str, value: str) -> str:
    clean_text(field, value, max_length=2048, allow_newlines=False)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
        raise field_error(field, "must be an absolute http or https URL")
    return value
