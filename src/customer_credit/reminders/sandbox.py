"""The Jinja2 environment of stores' reminder templates: Jinja's immutable sandbox (no Python
internals such as `__class__`, no mutation of lists or dicts) with every step of a render
charged to `budget.Meter`.

How the budget sees a render:
- calls (macros, methods, `range`, ...), filters and the `* ** % +` operators go through the
  sandbox's hooks, which estimate what may grow before it runs and measure what came out;
- at compile time the template's tree is rewritten so that each loop item, each macro / call
  block / block body (with the literal text it writes), each `~` and each list, tuple or dict
  literal is charged too; recursive loops are not supported;
- every `{{ ... }}` output is measured (`finalize`), including output captured by macros and
  `{% set %}` blocks, and the rendered text is capped at MAX_OUTPUT;
- trees nested deeper than MAX_NESTING (or MAX_BLOCK_NESTING statements) are refused before
  code generation.
Filters are limited to those whose cost follows their input (plus padding, joining and
replacing, estimated first); `lipsum` is not available."""

import functools
import time
import types
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

from jinja2 import Environment, Template, nodes, pass_environment, pass_eval_context
from jinja2.filters import FILTERS, do_center, do_format, do_indent, do_replace, do_wordwrap, sync_do_join
from jinja2.nodes import EvalContext
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment

from customer_credit.reminders.budget import (
    MAX_OUTPUT,
    MAX_VALUE,
    Meter,
    TemplateTooExpensive,
    bounded_range,
    current,
    format_size,
    indented_size,
    joined_size,
    metered,
    operator_size,
    padded_size,
    printf_size,
    replaced_size,
    wrapped_size,
)

MAX_NESTING = 50
MAX_BLOCK_NESTING = 10

# Filters whose result is about the size of their input.
LINEAR_FILTERS = (
    "abs", "attr", "capitalize", "count", "d", "default", "dictsort", "e", "escape",
    "filesizeformat", "first", "float", "forceescape", "int", "items", "last", "length", "list",
    "lower", "map", "max", "min", "reject", "rejectattr", "reverse", "round", "safe", "select",
    "selectattr", "sort", "string", "title", "trim", "truncate", "unique", "upper", "urlencode",
    "wordcount",
)  # fmt: skip


# --- filters that can outgrow their input, estimated before they run ----------------------


def _center(value: Any, width: int = 80) -> str:
    current().expect(padded_size(str(value), width))
    return do_center(value, width)


def _indent(s: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    current().expect(indented_size(str(s), width))
    return do_indent(s, width, first, blank)


def _format(value: str, *args: Any, **kwargs: Any) -> str:
    current().expect(printf_size(current(), str(value), kwargs or args))
    return do_format(value, *args, **kwargs)


@pass_eval_context
def _join(eval_ctx: EvalContext, value: Iterable, d: str = "", attribute: Any = None) -> str:
    items = list(value)  # each item is then weighed: an attribute of it is no larger
    current().expect(joined_size(current(), items, str(d)))
    return sync_do_join(eval_ctx, items, d, attribute)


@pass_eval_context
def _replace(eval_ctx: EvalContext, s: str, old: str, new: str, count: int | None = None) -> str:
    current().expect(replaced_size(str(s), str(old), str(new), count))
    return do_replace(eval_ctx, s, old, new, count)


@pass_environment
def _wordwrap(environment: Environment, s: str, width: int = 79, break_long_words: bool = True,
              wrapstring: str | None = None, break_on_hyphens: bool = True) -> str:  # fmt: skip
    current().expect(wrapped_size(str(s), width, wrapstring or environment.newline_sequence))
    return do_wordwrap(environment, s, width, break_long_words, wrapstring, break_on_hyphens)


SIZED_FILTERS = {
    "center": _center, "indent": _indent, "format": _format, "join": _join,
    "replace": _replace, "wordwrap": _wordwrap,
}  # fmt: skip

_RUNTIME_ARGS = (Context, EvalContext, Environment)


def _metered_filter(function: Callable) -> Callable:
    """A filter charged like a call: a step, its inputs, its result."""

    @functools.wraps(function)  # keeps Jinja's pass_context / pass_eval_context marks
    def metered_filter(*args: Any, **kwargs: Any) -> Any:
        meter = current()
        meter.step()
        for value in (*args, *kwargs.values()):
            if not isinstance(value, _RUNTIME_ARGS):
                meter.weigh(value)
        return meter.produced(function(*args, **kwargs))

    return metered_filter


def bounded_filters() -> dict[str, Callable]:
    chosen = {name: FILTERS[name] for name in LINEAR_FILTERS} | SIZED_FILTERS
    return {name: _metered_filter(function) for name, function in chosen.items()}


# --- calls ------------------------------------------------------------------------------------


# str methods with a size argument, and the estimate of their result.
def _padded(text: str, width: Any = 0, *_fill: Any) -> int:
    return padded_size(text, width)


def _replaced(text: str, old: Any = "", new: Any = "", count: Any = -1) -> int:
    return replaced_size(text, str(old), str(new), count)


_TEXT_METHODS: dict[str, Callable[..., int]] = {
    "center": _padded, "ljust": _padded, "rjust": _padded, "zfill": _padded, "replace": _replaced,
}  # fmt: skip
_REFUSED_TEXT_METHODS = ("expandtabs", "translate", "maketrans", "encode")
_INTERNAL_KWARGS = ("_loop_vars", "_block_vars", "caller")


def _checked_call(meter: Meter, function: Any, args: tuple, kwargs: dict) -> tuple:
    """Charges a call's inputs and estimates what it may build; returns the arguments to use
    (a `join`'s iterable is read once, here, to be measured)."""
    receiver = getattr(function, "__self__", None)
    name = getattr(function, "__name__", "")
    given = {key: value for key, value in kwargs.items() if key not in _INTERNAL_KWARGS}
    if isinstance(receiver, (bytes, bytearray)):
        meter.refuse("bytes are not supported in templates")
    if isinstance(receiver, str):
        meter.weigh(receiver)
        if name in _REFUSED_TEXT_METHODS:
            meter.refuse(f"str.{name}() is not supported in templates")
        if name == "join" and args:
            items = list(args[0])
            meter.expect(joined_size(meter, items, receiver))
            args = (items, *args[1:])
        elif name in _TEXT_METHODS:
            meter.expect(_TEXT_METHODS[name](receiver, *args, **given))
    if isinstance(function, types.BuiltinFunctionType):
        # A builtin's number argument is often a size (int.to_bytes, list.index's bounds...).
        for value in (*args, *given.values()):
            if isinstance(value, int) and abs(value) > MAX_VALUE:
                meter.refuse(f"the template passes {value} to {name}(), above {MAX_VALUE}")
    for value in (*args, *given.values()):
        meter.weigh(value)
    return args


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any):
        super().__init__(finalize=_measured_output, **options)
        self.filters = bounded_filters()
        self.globals["range"] = bounded_range
        del self.globals["lipsum"]

    # The sandbox's hooks.

    def call(self, context: Context, function: Any, /, *args: Any, **kwargs: Any) -> Any:
        meter = current()
        meter.step()
        if getattr(function, "__self__", None) is not self:  # the bounded_* helpers charge themselves
            args = _checked_call(meter, function, args, kwargs)
        meter.entered_call()
        try:
            result = super().call(context, function, *args, **kwargs)
        finally:
            meter.left_call()
        return meter.produced(result)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        meter = current()
        meter.step()
        meter.expect(operator_size(meter, operator, left, right))
        return meter.produced(super().call_binop(context, operator, left, right))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        formatter = super().wrap_str_format(value)
        if formatter is None:
            return None
        template, by_mapping = value.__self__, value.__name__ == "format_map"

        def bounded_format(*args: Any, **kwargs: Any) -> str:
            meter = current()
            if by_mapping:
                meter.expect(format_size(meter, template, (), args[0] if args else {}))
            else:
                meter.expect(format_size(meter, template, args, kwargs))
            return formatter(*args, **kwargs)

        return functools.update_wrapper(bounded_format, value)

    # Called by the code the rewritten tree generates (see _metered_tree).

    @pass_eval_context
    def bounded_concat(self, eval_ctx: EvalContext, *parts: Any) -> str:
        meter = current()
        meter.expect(sum(meter.weigh(part) for part in parts))
        return markup_join(parts) if eval_ctx.autoescape else str_join(parts)

    def bounded_literal(self, value: Any) -> Any:
        return value  # measured by `call`, like any result

    def bounded_loop(self, iterable: Iterable, cost: int) -> Iterator:
        meter = current()
        for item in iterable:
            meter.step()
            meter.charge(cost)
            yield item

    def bounded_charge(self, cost: int) -> str:
        current().charge(cost)
        return ""

    # Compiling.

    def compile(self, source, name=None, filename=None, raw=False, defer_init=False):
        try:
            if isinstance(source, str):
                tree = self.parse(source, name, filename)
                _check_nesting(tree)
                source = _metered_tree(tree, self)
            return super().compile(source, name, filename, raw, defer_init)
        except RecursionError:
            raise TemplateTooExpensive("the template is nested too deeply") from None


def _measured_output(value: Any) -> Any:
    return current().produced(value)


# --- the tree ----------------------------------------------------------------------------------

_STATEMENT_BLOCKS = (
    nodes.For, nodes.If, nodes.Macro, nodes.CallBlock, nodes.FilterBlock, nodes.With,
    nodes.AssignBlock, nodes.Block, nodes.ScopedEvalContextModifier,
)  # fmt: skip
# Bodies that run once per call (or per rendering of the block), not once per enclosing run.
_CALLED_BODIES = (nodes.Macro, nodes.CallBlock, nodes.Block)


def _check_nesting(tree: nodes.Template) -> None:
    pending: list[tuple[nodes.Node, int, int]] = [(tree, 0, 0)]
    while pending:
        node, depth, blocks = pending.pop()
        if blocks > MAX_BLOCK_NESTING:
            raise TemplateTooExpensive(f"the template nests more than {MAX_BLOCK_NESTING} blocks")
        if depth > MAX_NESTING:
            raise TemplateTooExpensive(f"the template is nested more than {MAX_NESTING} levels deep")
        inner = blocks + isinstance(node, _STATEMENT_BLOCKS)
        siblings = {id(branch) for branch in node.elif_} if isinstance(node, nodes.If) else set()
        for child in node.iter_child_nodes():
            # an `elif` is a sibling of its `if`, not nested in it
            pending.append((child, depth + 1, blocks if id(child) in siblings else inner))


def _literal_size(body: list[nodes.Node]) -> int:
    """The literal text a body writes each time it runs (inner loops and called bodies charge
    their own)."""
    total, pending = 0, list(body)
    while pending:
        node = pending.pop()
        if isinstance(node, nodes.TemplateData):
            total += len(node.data)
        elif isinstance(node, nodes.For):
            pending.extend([node.iter, *node.else_, *([node.test] if node.test else [])])
        elif isinstance(node, nodes.CallBlock):
            pending.append(node.call)
        elif not isinstance(node, _CALLED_BODIES):
            pending.extend(node.iter_child_nodes())
    return total


def _call(name: str, args: list[nodes.Expr], like: nodes.Node) -> nodes.Call:
    call = nodes.Call(nodes.EnvironmentAttribute(name), args, [], None, None)
    call.set_lineno(like.lineno or 1)
    return call


def _metered_node(node: nodes.Node) -> nodes.Node:
    if isinstance(node, nodes.Concat):
        return _call("bounded_concat", node.nodes, node)
    if isinstance(node, (nodes.List, nodes.Dict)) or (isinstance(node, nodes.Tuple) and node.ctx == "load"):
        return _call("bounded_literal", [node], node)
    if isinstance(node, nodes.For):
        if node.recursive:
            raise TemplateTooExpensive("recursive loops are not supported in templates")
        cost = nodes.Const(1 + _literal_size(node.body))
        # jinja2 types For.iter as any Node; its parser always stores an expression there.
        node.iter = _call("bounded_loop", [cast(nodes.Expr, node.iter), cost], node)
    elif isinstance(node, (*_CALLED_BODIES, nodes.Template)):
        charge = _call("bounded_charge", [nodes.Const(_literal_size(node.body))], node)
        node.body.insert(0, nodes.ExprStmt(charge, lineno=charge.lineno))
    return node


def _rewritten(node: nodes.Node) -> nodes.Node:
    """The node with its subtree charged, bottom-up (depth is bounded by _check_nesting)."""
    for field, value in node.iter_fields():
        if isinstance(value, nodes.Node):
            setattr(node, field, _rewritten(value))
        elif isinstance(value, list):
            setattr(
                node, field, [_rewritten(item) if isinstance(item, nodes.Node) else item for item in value]
            )
    return _metered_node(node)


def _metered_tree(tree: nodes.Template, environment: Environment) -> nodes.Template:
    _rewritten(tree)  # a Template is charged in place (a first charge in its body), never replaced
    tree.set_environment(environment)
    return tree


# --- rendering ---------------------------------------------------------------------------------


def render_within_budget(
    template: Template, values: dict, *, clock: Callable[[], float] = time.thread_time
) -> str:
    """The rendered text, or TemplateTooExpensive (a TemplateError or another exception for a
    template that is merely wrong)."""
    pieces: list[str] = []
    size = 0
    with metered(clock) as meter:
        try:
            for piece in template.generate(values):
                size += len(piece)
                if size > MAX_OUTPUT:
                    meter.refuse(f"the template renders more than {MAX_OUTPUT} characters")
                pieces.append(piece)
        except RecursionError:
            raise TemplateTooExpensive("the template nests calls too deeply") from None
        except MemoryError:
            raise TemplateTooExpensive("the template needs too much memory") from None
        if meter.refusal:  # refused, and something in between swallowed the exception
            raise TemplateTooExpensive(meter.refusal)
    return "".join(pieces)
