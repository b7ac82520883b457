"""`from`/`to` windows: 1-based inclusive positions, the first 20 by default, at most 1,000."""

from dataclasses import dataclass

from customer_credit.errors import field_error

DEFAULT_PAGE = 20
MAX_WINDOW = 1000
MAX_POSITION = 1_000_000_000


@dataclass(frozen=True)
class Window:
    offset: int
    limit: int


def _position(name: str, raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    # ASCII digits only: int() would also take "1_000", " 7 " and other scripts' digits.
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        raise field_error(name, "must be a whole number")
    value = int(raw)
    if value < 1 or value > MAX_POSITION:
        raise field_error(name, f"must be between 1 and {MAX_POSITION}")
    return value


def window(raw_from: str | None, raw_to: str | None) -> Window:
    start = _position("from", raw_from)
    end = _position("to", raw_to)
    if start is None:
        if end is None:
            return Window(offset=0, limit=DEFAULT_PAGE)
        start = max(1, end - DEFAULT_PAGE + 1)
    if end is None:
        end = start + DEFAULT_PAGE - 1
    if end < start:
        raise field_error("to", "must not be before from")
    if end - start + 1 > MAX_WINDOW:
        raise field_error("to", f"a window holds at most {MAX_WINDOW} items")
    return Window(offset=start - 1, limit=end - start + 1)
