"""CSV cells: writing rows, and keeping spreadsheet formulas out of exported text."""

import csv
import io

# A text cell starting with one of these is a formula to a spreadsheet program; it is written
# with a leading apostrophe, and an import takes that apostrophe off again.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str | None) -> str:
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def read_text_cell(value: str | None) -> str:
    value = value or ""
    if len(value) > 1 and value[0] == "'" and value[1:].startswith(_FORMULA_START):
        return value[1:]
    return value


def line(values: list) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()
