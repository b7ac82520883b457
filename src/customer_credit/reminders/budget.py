"""The budget of one render of a store's template, so that a hostile template (nested loops,
`"x" * 10**9`, a macro calling itself, ...) is refused in milliseconds instead of taking the
request or the worker down.

A render may take at most MAX_STEPS steps (loop items, calls, filters, operators), touch at
most MAX_WORK characters or items in all (every value an operation takes in or produces,
literal text written by loops and macros included), never build one value above MAX_VALUE,
and finish within RENDER_SECONDS (a backstop for work no hook sees, such as comparisons).
RENDER_SECONDS counts the rendering thread's CPU time (time.thread_time), not the wall clock:
a render that waits for a core on a loaded machine is not refused for it.
Operations whose result can be much larger than their inputs (repetition, padding, joining,
replacing, formatting) are checked *before* they run, so the memory is never allocated.

Only `sandbox.BoundedEnvironment` calls this module; `metered()` opens the budget of a render
and the environment's hooks charge it through `current()`."""

import math
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from string import Formatter
from typing import Any

MAX_STEPS = 10_000
MAX_WORK = 1_000_000
MAX_VALUE = 100_000
MAX_OUTPUT = 100_000
MAX_INT_BITS = 4_096
MAX_CALL_DEPTH = 30
MAX_RANGE = 1_000
RENDER_SECONDS = 0.5

# What one item of a list, tuple or dict counts for: a value may then hold at most
# MAX_VALUE / ITEM_WEIGHT items, which keeps measuring (and comparing) containers cheap.
ITEM_WEIGHT = 10

# The longest text one number can format to (a float near 1e308 with "%f"), so that a format
# estimate holds whatever number is formatted.
NUMBER_TEXT = 330


class TemplateTooExpensive(Exception):
    """A template needs more than its budget; `reason` says which limit (for the operator)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Unmetered(RuntimeError):
    """Template code ran outside a render: Jinja's compile-time constant folding does this, and
    this error makes it leave the expression to the (metered) render instead."""


def weight(value: Any, limit: int = MAX_VALUE + 1) -> int:
    """The size of a value: characters of text, about the digits of a number, and for a
    container ITEM_WEIGHT per item plus its items' weights (an item held twice counts twice,
    as it would print). Counting stops past `limit`, so it visits at most limit / ITEM_WEIGHT
    items."""
    total, pending = 0, [value]
    while pending and total <= limit:
        item = pending.pop()
        if isinstance(item, (str, bytes, bytearray)):
            total += len(item)
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 1 + ITEM_WEIGHT * len(item)
            if total <= limit:
                pending.extend(item)
        elif isinstance(item, Mapping):
            total += 1 + 2 * ITEM_WEIGHT * len(item)
            if total <= limit:
                pending.extend(item.keys())
                pending.extend(item.values())
        elif isinstance(item, int) and not isinstance(item, bool):
            total += item.bit_length() // 3 + 1
        elif isinstance(item, float):
            total += 24
        else:
            total += 1
    return total


class Meter:
    """The running totals of one render. Once it refuses, it keeps refusing (so a refusal
    that some code swallowed still ends the render)."""

    def __init__(self, clock: Callable[[], float] = time.thread_time):
        self.clock = clock
        self.deadline = clock() + RENDER_SECONDS
        self.steps = 0
        self.work = 0
        self.depth = 0
        self.refusal: str | None = None

    def refuse(self, reason: str):
        self.refusal = self.refusal or reason
        raise TemplateTooExpensive(self.refusal)

    def step(self) -> None:
        if self.refusal:
            raise TemplateTooExpensive(self.refusal)
        self.steps += 1
        if self.steps > MAX_STEPS:
            self.refuse(f"the template takes more than {MAX_STEPS} steps (loop items, calls, filters)")
        if self.clock() > self.deadline:
            self.refuse(f"the template takes longer than {RENDER_SECONDS} s to render")

    def charge(self, amount: int) -> None:
        if self.refusal:
            raise TemplateTooExpensive(self.refusal)
        self.work += amount
        if self.work > MAX_WORK:
            self.refuse(f"the template handles more than {MAX_WORK} characters in all")

    def weigh(self, value: Any) -> int:
        """The value's weight, charged (reading a value costs its size)."""
        size = weight(value)
        self.charge(size)
        return size

    def expect(self, size: int) -> None:
        """Before an operation whose result will have about `size` characters or items."""
        if size > MAX_VALUE:
            self.refuse(
                f"the template would build a value of {size} characters or items (at most {MAX_VALUE})"
            )
        self.charge(size)

    def produced(self, value: Any) -> Any:
        """After an operation: its result must fit, and is charged."""
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
            self.refuse(f"the template builds a number of more than {MAX_INT_BITS} bits")
        if self.weigh(value) > MAX_VALUE:
            self.refuse(f"the template builds a value of more than {MAX_VALUE} characters or items")
        return value

    def entered_call(self) -> None:
        self.depth += 1
        if self.depth > MAX_CALL_DEPTH:
            self.refuse(f"the template nests calls more than {MAX_CALL_DEPTH} deep")

    def left_call(self) -> None:
        self.depth -= 1


_current: ContextVar[Meter | None] = ContextVar("template_meter", default=None)


def current() -> Meter:
    meter = _current.get()
    if meter is None:
        raise Unmetered("template code runs only inside a metered render")
    return meter


@contextmanager
def metered(clock: Callable[[], float] = time.thread_time) -> Iterator[Meter]:
    meter = Meter(clock)
    token = _current.set(meter)
    try:
        yield meter
    finally:
        _current.reset(token)


# --- size estimates, before an operation runs ----------------------------------------------


def _number(value: Any) -> int:
    """An int argument as given (a non-number is left for the operation itself to refuse)."""
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def operator_size(meter: Meter, operator: str, left: Any, right: Any) -> int:
    """About the size of `left <operator> right` (0 when it cannot outgrow its operands)."""
    sequences = (str, bytes, list, tuple)
    if operator == "*":
        if isinstance(left, sequences) and isinstance(right, int):
            return meter.weigh(left) * max(right, 0)
        if isinstance(right, sequences) and isinstance(left, int):
            return meter.weigh(right) * max(left, 0)
        if isinstance(left, int) and isinstance(right, int):
            _check_bits(meter, left.bit_length() + right.bit_length())
    elif operator == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            _check_bits(meter, right * math.log2(abs(left)))
    elif operator == "+":
        if isinstance(left, sequences) and isinstance(right, sequences):
            return meter.weigh(left) + meter.weigh(right)
    elif operator == "%" and isinstance(left, str):
        return printf_size(meter, left, right)
    return 0


def _check_bits(meter: Meter, bits: float) -> None:
    if bits > MAX_INT_BITS:
        meter.refuse(f"the template would build a number of more than {MAX_INT_BITS} bits")


_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?[hlL]?[a-zA-Z%]")


def printf_size(meter: Meter, template: str, args: Any) -> int:
    """An upper bound of len(template % args)."""
    if isinstance(args, Mapping):
        values = list(args.values())
    else:
        values = list(args) if isinstance(args, tuple) else [args]
    widest = max((meter.weigh(value) for value in values), default=0) + NUMBER_TEXT
    total = len(template)
    for spec in _PRINTF_SPEC.finditer(template):
        width, precision = spec.group(1), spec.group(2) or ""
        if "*" in (width, precision):
            meter.refuse("the template uses a '*' width in a format, which is not supported")
        total += int(width or 0) + int(precision or 0) + widest
    return total


def format_size(meter: Meter, template: str, args: tuple, fields: Any) -> int:
    """An upper bound of len(template.format(*args, **fields))."""
    named = list(fields.values()) if isinstance(fields, Mapping) else [fields]
    widest = max((meter.weigh(value) for value in (*args, *named)), default=0) + NUMBER_TEXT
    total = len(template)
    for _text, field, spec, _conversion in Formatter().parse(template):
        if field is None:
            continue
        if spec and "{" in spec:
            meter.refuse("the template nests a field in a format spec, which is not supported")
        total += sum(int(number) for number in re.findall(r"\d+", spec or "")) + widest
    return total


def padded_size(text: str, width: Any) -> int:
    """center / ljust / rjust / zfill."""
    return max(len(text), _number(width))


def indented_size(text: str, indention: Any) -> int:
    pad = len(indention) if isinstance(indention, str) else max(_number(indention), 0)
    return len(text) + (text.count("\n") + 2) * pad


def replaced_size(text: str, old: str, new: str, count: Any = None) -> int:
    occurrences = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        occurrences = min(occurrences, count)
    return len(text) + occurrences * max(len(new) - len(old), 0)


def joined_size(meter: Meter, items: list, separator: str) -> int:
    return sum(meter.weigh(item) for item in items) + len(separator) * max(len(items) - 1, 0)


def wrapped_size(text: str, width: Any, wrapstring: str) -> int:
    # A wrapped line holds at least one word, so lines average at least half the width.
    lines = 2 * len(text) // max(_number(width), 1) + text.count("\n") + 1
    return len(text) + lines * len(wrapstring)


def bounded_range(*args: Any) -> range:
    numbers = range(*args)
    try:
        length = len(numbers)
    except OverflowError:
        length = MAX_RANGE + 1
    if length > MAX_RANGE:
        current().refuse(f"the template asks for a range of more than {MAX_RANGE} numbers")
    return numbers
