"""Checks on text that reaches the database or a page: lengths, control characters, e-mails,
URLs and ids that appear in paths."""

import re
import unicodedata
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


# Categories no e-mail address holds: controls (Cc), format characters such as zero-width
# spaces and bidi overrides (Cf), separators, surrogates, private-use and unassigned code points.
# Each can make two addresses look alike on a page while comparing different.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})


def normalize_email(value: str) -> str:
    """The one form e-mails are stored and compared in: NFKC (full-width and compatibility
    characters folded to their plain form), then case-folded."""
    return unicodedata.normalize("NFKC", value.strip()).casefold()


def clean_email(field: str, value: str) -> str:
    if len(value) > 254:
        raise field_error(field, "must be at most 254 characters")
    if any(unicodedata.category(char) in _INVISIBLE_CATEGORIES for char in value.strip()):
        raise field_error(field, "must not contain invisible, bidi or control characters")
    normalized = normalize_email(value)
    clean_text(field, normalized, max_length=254, allow_newlines=False)
    if not _EMAIL.fullmatch(normalized):
        raise field_error(field, "must be an e-mail address")
    local, domain = normalized.rsplit("@", 1)
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise field_error(field, "must be an e-mail address (no leading, trailing or double dot)")
    if any(not label for label in domain.split(".")):
        raise field_error(field, "must be an e-mail address (no empty label or trailing dot in the domain)")
    return normalized


def clean_path_id(field: str, value: str, *, max_length: int) -> str:
    """Ids that become part of URLs: letters, digits, '.', '_' and '-'."""
    if not value or len(value) > max_length or not _PATH_ID.fullmatch(value) or ".." in value:
        raise field_error(field, f"must be 1 to {max_length} letters, digits, '.', '_' or '-' (no '..')")
    return value


def clean_http_url(field: str, value: str) -> str:
    clean_text(field, value, max_length=2048, allow_newlines=False)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
        raise field_error(field, "must be an absolute http or https URL")
    return value
