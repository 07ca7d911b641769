"""Bounds on what one template render may cost: output size, values built, work done.

Templates run on the event loop, for every recipient, so a template that builds a huge
string or loops without end stalls the whole server. The sandbox here refuses, before doing
the work, every operation that could build a value larger than the bounds (``*``, ``**``,
``%``, ``+``, padding widths, ``replace``, ``join``, …), checks every other value an
operation returns, and counts loop iterations, calls and operators against a budget for the
render, with the text each produces. Jinja folds constant expressions when it compiles a
template; intercepted operators and refused filters are not folded, so a refusal happens when
the template runs (which, for a custom event type, is when it is created).
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, nodes, pass_context, pass_environment
from jinja2.filters import make_attrgetter
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import SandboxedEnvironment
from jinja2.visitor import NodeTransformer

from clarion.render._jinja import takes_context_or_environment

# What one part of an event (its title, body, an action's label or URL) may render to.
MAX_RENDERED_CHARS = 64 * 1024
# The largest string a template may build on the way (a label may be longer than a part).
MAX_VALUE_CHARS = 1024 * 1024
# The most items a list, range or mapping built by a template may hold.
MAX_ITEMS = 10_000
# The largest integer a template may compute, in bits.
MAX_INT_BITS = 4096
# Loop iterations, calls and operators one render may run.
MAX_STEPS = 20_000
# Text one render may produce in all, printed or built and dropped.
MAX_WORK_CHARS = 4 * 1024 * 1024
# A filter argument copied into the output many times (tojson's indent, urlize's target).
_MAX_REPEATED_ARG = 256
# The filter every loop's iterable goes through; not an identifier, so no template names it.
LOOP_FILTER = "clarion:loop"
CONCAT_FILTER = "clarion:concat"

_PRINTF_FIELD = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?")
_NUMBER = re.compile(r"\d+")


class LimitExceeded(Exception):
    """A template went over a bound; the message says which."""


@dataclass
class _Budget:
    steps: int = MAX_STEPS
    chars: int = MAX_WORK_CHARS


_BUDGET: ContextVar[_Budget | None] = ContextVar("clarion_template_budget", default=None)


class budget:
    """Context manager: the bounded work of one render (outside one, only sizes are checked,
    as when Jinja folds constants at compile time)."""

    def __enter__(self) -> None:
        self._token = _BUDGET.set(_Budget())

    def __exit__(self, *exc: object) -> None:
        _BUDGET.reset(self._token)


def charge(steps: int, chars: int) -> None:
    found = _BUDGET.get()
    if found is None:
        return
    found.steps -= steps
    found.chars -= chars
    if found.steps < 0:
        raise LimitExceeded(
            f"the template runs more than {MAX_STEPS} loop iterations, calls and operations"
        )
    if found.chars < 0:
        raise LimitExceeded(f"the template produces more than {MAX_WORK_CHARS} characters")


def _size(value: Any) -> int:
    """The characters (or items) ``value`` holds, for the work budget."""
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        return len(value)
    return 0


def check_value(value: Any) -> Any:
    """``value`` if it is within the bounds, else LimitExceeded."""
    if isinstance(value, str | bytes):
        if len(value) > MAX_VALUE_CHARS:
            raise LimitExceeded(f"a value of more than {MAX_VALUE_CHARS} characters")
    elif isinstance(value, list | tuple | dict | set | frozenset):
        if len(value) > MAX_ITEMS:
            raise LimitExceeded(f"a list or mapping of more than {MAX_ITEMS} items")
    elif isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise LimitExceeded(f"a number of more than {MAX_INT_BITS} bits")
    return value


def _refuse_longer(length: int, what: str) -> None:
    if length > MAX_VALUE_CHARS:
        raise LimitExceeded(f"{what} would be more than {MAX_VALUE_CHARS} characters long")


def _width(value: Any, what: str) -> None:
    if isinstance(value, int) and value > MAX_VALUE_CHARS:
        raise LimitExceeded(f"{what} of {value} is more than {MAX_VALUE_CHARS}")


def _check_printf(template: str) -> None:
    for match in _PRINTF_FIELD.finditer(template):
        for number in (match[1], match[2]):
            if number == "*":
                raise LimitExceeded("a '*' width or precision in a % format is not allowed")
            if number is not None:
                _width(int(number), "a % format width")


def _check_format_spec(template: str) -> None:
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return  # format itself reports the malformed template
    for _, _, spec, _ in fields:
        if not spec:
            continue
        if "{" in spec:
            raise LimitExceeded("a nested {…} width in a format string is not allowed")
        for number in _NUMBER.findall(spec):
            _width(int(number), "a format width")


def _replaced_length(text: str, old: str, new: str, count: int | None) -> int:
    found = len(text) + 1 if old == "" else text.count(old)
    if count is not None and count >= 0:
        found = min(found, count)
    return len(text) + found * (len(new) - len(old))


def _bounded_join(pieces: Iterable[Any], separator: str) -> str:
    out: list[str] = []
    total = 0
    for piece in pieces:
        text = str(piece)
        total += len(text) + (len(separator) if out else 0)
        _refuse_longer(total, "the joined text")
        out.append(text)
    return separator.join(out)


# --- operators ----------------------------------------------------------------------------------


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, str | bytes | list | tuple) and isinstance(times, int):
                if isinstance(seq, list | tuple):
                    _check_items(len(seq) * times)
                else:
                    _refuse_longer(len(seq) * times, "the repeated text")
        if isinstance(left, int) and isinstance(right, int):
            _check_bits(left.bit_length() + right.bit_length())
    elif operator == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            _check_bits(left.bit_length() * right)
    elif operator == "+":
        if isinstance(left, str | bytes) and isinstance(right, str | bytes):
            _refuse_longer(len(left) + len(right), "the joined text")
        elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
            _check_items(len(left) + len(right))
    elif operator == "%" and isinstance(left, str):
        _check_printf(left)


def _check_items(count: int) -> None:
    if count > MAX_ITEMS:
        raise LimitExceeded(f"a list of more than {MAX_ITEMS} items")


def _check_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise LimitExceeded(f"a number of more than {MAX_INT_BITS} bits")


# --- method calls -------------------------------------------------------------------------------

_PADDING = frozenset({"center", "ljust", "rjust", "zfill"})


def _check_method(owner: Any, name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    if isinstance(owner, str):
        if name in _PADDING and args:
            _width(args[0], f"a {name} width")
        elif name == "expandtabs":
            size = args[0] if args else kwargs.get("tabsize", 8)
            if isinstance(size, int):
                _refuse_longer(len(owner) + owner.count("\t") * size, "the expanded text")
        elif name == "replace" and len(args) >= 2:
            old, new = args[0], args[1]
            count = args[2] if len(args) > 2 else kwargs.get("count")
            if isinstance(old, str) and isinstance(new, str):
                _refuse_longer(_replaced_length(owner, old, new, count), "the replaced text")
        elif name in ("format", "format_map"):
            _check_format_spec(owner)
        elif name == "translate" and args and isinstance(args[0], Mapping):
            longest = max((_size(v) for v in args[0].values()), default=1)
            _refuse_longer(len(owner) * max(longest, 1), "the translated text")
    elif isinstance(owner, int) and name == "to_bytes":
        size = args[0] if args else kwargs.get("length", 1)
        _width(size, "a byte length")


class BoundedSandbox(SandboxedEnvironment):
    """Jinja's sandbox, with every operation bounded (see the module's docstring)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.globals["range"] = _range
        # Lorem ipsum takes its size from its arguments and has no use in a notification.
        self.globals.pop("lipsum", None)
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}
        self.filters["join"] = _bounded_filter("join", _join_filter)
        self.filters[LOOP_FILTER] = _loop
        self.filters[CONCAT_FILTER] = _concat

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        result = check_value(super().call_binop(context, operator, left, right))
        charge(1, _size(result))
        return result

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        if isinstance(obj, LoopContext):
            raise LimitExceeded("recursive loops are not allowed")
        method = getattr(obj, "__wrapped__", obj)  # the sandbox wraps str.format
        owner = getattr(method, "__self__", None)
        _check_method(owner, getattr(method, "__name__", ""), args, kwargs)
        result = check_value(super().call(context, obj, *args, **kwargs))
        if owner is not None and not isinstance(owner, type):
            check_value(owner)  # list.extend, dict.update grow their owner in place
        charge(1, _size(result))
        return result


def _range(*args: int) -> range:
    found = range(*args)
    if len(found) > MAX_ITEMS:
        raise LimitExceeded(f"a range of more than {MAX_ITEMS} items")
    return found


@pass_context  # never folded at compile time: each iteration is charged when it runs
def _loop(context: Context, iterable: Iterable[Any], weight: int) -> Iterator[Any]:
    """A loop's items, each charged with the text of the loop's body."""
    for item in iterable:
        charge(1, weight)
        yield item


@pass_environment
def _join_filter(
    environment: Environment, value: Iterable[Any], d: str = "", attribute: str | int | None = None
) -> str:
    if attribute is not None:
        value = map(make_attrgetter(environment, attribute), value)
    return _bounded_join(value, str(d))


def _check_filter(name: str, value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    def arg(index: int, key: str, default: Any) -> Any:
        return args[index] if len(args) > index else kwargs.get(key, default)

    if name == "center":
        _width(arg(0, "width", 80), "a center width")
    elif name == "indent" and isinstance(value, str):
        width = arg(0, "width", 4)
        _width(width, "an indent width")
        pad = len(width) if isinstance(width, str) else int(width)
        _refuse_longer(len(value) + (value.count("\n") + 1) * pad, "the indented text")
    elif name == "replace" and isinstance(value, str):
        old, new = str(arg(0, "old", "")), str(arg(1, "new", ""))
        count = arg(2, "count", None)
        _refuse_longer(_replaced_length(value, old, new, count), "the replaced text")
    elif name == "wordwrap" and isinstance(value, str):
        width = arg(0, "width", 79)
        wrap = arg(2, "wrapstring", None) or "\n"
        lines = 2 * len(value) // max(int(width), 1) + value.count("\n") + 1
        _refuse_longer(len(value) + lines * len(str(wrap)), "the wrapped text")
    elif name == "tojson":
        indent = arg(0, "indent", None)
        if _size(indent) > _MAX_REPEATED_ARG or (isinstance(indent, int) and indent > 16):
            raise LimitExceeded("a tojson indent of more than 16")
    elif name in ("batch", "slice"):
        count = arg(0, "linecount" if name == "batch" else "slices", 1)
        if isinstance(count, int) and count > MAX_ITEMS:
            raise LimitExceeded(f"a {name} count of more than {MAX_ITEMS}")
    elif name == "format" and isinstance(value, str):
        _check_printf(value)
    elif name == "urlize":
        for key in ("target", "rel"):
            if _size(kwargs.get(key)) > _MAX_REPEATED_ARG:
                raise LimitExceeded(f"an urlize {key} of more than {_MAX_REPEATED_ARG} characters")
    elif name == "sum":
        start = arg(1, "start", 0)
        if not isinstance(start, int | float):
            raise LimitExceeded("sum adds numbers only")


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    if name == LOOP_FILTER:
        return function
    skip = 1 if takes_context_or_environment(function) else 0  # its context or environment

    @functools.wraps(function)  # keeps Jinja's pass_context/pass_environment marks
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if len(args) > skip:
            _check_filter(name, args[skip], args[skip + 1 :], kwargs)
        result = check_value(function(*args, **kwargs))
        charge(1, _size(result))
        return result

    return bounded


def bound_tree(tree: nodes.Template) -> nodes.Template:
    """Route each loop's iterable through the loop filter, weighted by its body's text, and
    each ``~`` through a join that refuses to build a value over the bound."""
    for loop in tree.find_all(nodes.For):
        if loop.recursive:
            raise LimitExceeded("recursive loops are not allowed")
        weight = sum(len(data.data) for data in _own_text(loop.body))
        loop.iter = nodes.Filter(
            loop.iter, LOOP_FILTER, [nodes.Const(weight)], [], None, None, lineno=loop.lineno
        )
    result: nodes.Template = _Concatenations().visit(tree)
    return result


class _Concatenations(NodeTransformer):
    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        items = nodes.List(node.nodes, lineno=node.lineno)
        return nodes.Filter(items, CONCAT_FILTER, [], [], None, None, lineno=node.lineno)


def _concat(items: list[Any]) -> str:
    """``a ~ b ~ …`` as Jinja joins them (autoescape is off), within the bound."""
    text = _bounded_join(items, "")
    charge(1, len(text))
    return text


def _own_text(body: list[nodes.Node]) -> Iterator[nodes.TemplateData]:
    """The literal text of a loop body, without that of loops nested in it (they charge
    their own iterations)."""
    for node in body:
        if isinstance(node, nodes.TemplateData):
            yield node
        elif not isinstance(node, nodes.For):
            yield from _own_text(list(node.iter_child_nodes()))
