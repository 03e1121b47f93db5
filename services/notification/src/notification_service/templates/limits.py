"""The bounded sandbox every template renders in: a department's template cannot loop for
minutes, build gigabyte strings or stall the service. No I/O; rendering itself is
:mod:`.rendering`'s.

How: :class:`BoundedSandbox` (an immutable Jinja2 sandbox) intercepts every operation that can
build something big in one step and refuses (:class:`TooExpensive`) before building more than
:data:`MAX_SIZE` characters or items: ``range`` (at most :data:`MAX_RANGE` items), the operators
``*``, ``**``, ``+``, ``%`` and ``~``, ``str.format`` widths, string methods and filters that
take a size (``center``, ``replace``, ``join``, ``indent``, ``batch``, ``wordwrap``, ...), and
``lipsum``. Every loop iteration, macro call, call, attribute access, filter and output charges
a :class:`Budget` per message: at most :data:`MAX_STEPS` steps, :data:`MAX_PRODUCED` characters
produced (also inside macros and ``set`` blocks, loops charged with their literal text) and
:data:`TIME_BUDGET` seconds. The rendered text of one part is cut off at :data:`MAX_OUTPUT`.

Limits of the approach: callers render in a worker thread (``asyncio.to_thread``) so the event
loop keeps answering, but a thread cannot be killed; the budget is cooperative, checked between
steps, so a render overruns its deadline by at most one step, and each step is bounded by the
size limits (the most expensive single step is a builtin working on :data:`MAX_SIZE` items,
e.g. sorting them: milliseconds). Memory held by the params themselves is bounded by the
request body limit, not here. A hostile template holds one worker thread for at most about
:data:`TIME_BUDGET` seconds.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final

from jinja2 import filters, nodes, pass_context, pass_environment, pass_eval_context
from jinja2.environment import Environment
from jinja2.nodes import EvalContext
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import (
    ImmutableSandboxedEnvironment,
    SandboxedEscapeFormatter,
    SandboxedFormatter,
)
from jinja2.utils import generate_lorem_ipsum
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

__all__ = [
    "MAX_OUTPUT",
    "MAX_RANGE",
    "MAX_SIZE",
    "MAX_STEPS",
    "TIME_BUDGET",
    "BoundedSandbox",
    "Budget",
    "TooExpensive",
    "budgeted",
    "metered",
]

MAX_RANGE: Final = 1_000
MAX_SIZE: Final = 100_000
MAX_OUTPUT: Final = 100_000
MAX_PRODUCED: Final = 1_000_000
MAX_STEPS: Final = 100_000
MAX_INT_BITS: Final = 4_096
MAX_WIDTH: Final = 1_000
MAX_ARGUMENT: Final = 1_000
TIME_BUDGET: Final = 1.0

_SIZED: Final = (str, bytes, list, tuple, dict, set, frozenset)
_SEQUENCES: Final = (str, bytes, list, tuple)


class TooExpensive(Exception):
    """A template exceeded a limit; ``limit`` names which (``range``, ``size``, ``number``,
    ``steps``, ``output``, ``time``, ``recursion``, ``argument``)."""

    def __init__(self, limit: str) -> None:
        super().__init__(f"the template exceeds the {limit} limit")
        self.limit = limit


class Budget:
    """The work one message's rendering may do (all its parts together)."""

    __slots__ = ("deadline", "produced", "steps")

    def __init__(self, seconds: float = TIME_BUDGET) -> None:
        self.steps = 0
        self.produced = 0
        self.deadline = time.monotonic() + seconds

    def charge(self, steps: int = 1, produced: int = 0) -> None:
        """:raises TooExpensive: a limit is now exceeded."""
        self.steps += steps
        self.produced += produced
        if self.steps > MAX_STEPS:
            raise TooExpensive("steps")
        if self.produced > MAX_PRODUCED:
            raise TooExpensive("output")
        if time.monotonic() > self.deadline:
            raise TooExpensive("time")


_BUDGET: ContextVar[Budget | None] = ContextVar("template_budget", default=None)


@contextmanager
def budgeted(budget: Budget) -> Iterator[Budget]:
    """Charge the sandbox's work in this block (this thread's context) to ``budget``."""
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def _charge(steps: int = 1, produced: int = 0) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge(steps, produced)


def _need(size: int, limit: str = "size") -> None:
    if size > MAX_SIZE:
        raise TooExpensive(limit)


def _bounded(value: Any) -> Any:
    if isinstance(value, _SIZED) and len(value) > MAX_SIZE:
        raise TooExpensive("size")
    return value


def _text_length(value: object) -> int:
    return len(value) if isinstance(value, str) else len(str(value))


# -- operators ---------------------------------------------------------------------------------

_CONVERSION: Final = re.compile(
    r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([diouxXeEfFgGcrsa%])")


def _check_percent(template: str, values: object) -> None:
    """``template % values`` stays within the limits (checked before formatting)."""
    conversions, widest = 0, 0
    for match in _CONVERSION.finditer(template):
        width, precision, kind = match.groups()
        if kind == "%":
            continue
        if "*" in (width, precision):
            raise TooExpensive("size")
        for number in (width, precision):
            if number is not None and (len(number) > 6 or int(number) > MAX_WIDTH):
                raise TooExpensive("size")
            widest = max(widest, int(number or 0))
        conversions += 1
    items: Iterable[object]
    if isinstance(values, Mapping):
        items = values.values()
    elif isinstance(values, tuple):
        items = values
    else:
        items = (values,)
    longest = max((_text_length(v) for v in items), default=0)
    _need(len(template) + conversions * (longest + widest + 400))


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, _SEQUENCES) and isinstance(times, int) and times > 0:
                _need(len(seq) * times)
        if isinstance(left, int) and isinstance(right, int) and (
                left.bit_length() + right.bit_length() > MAX_INT_BITS):
            raise TooExpensive("number")
    elif operator == "**":
        if (isinstance(left, int) and isinstance(right, int) and right > 0
                and abs(left) > 1 and left.bit_length() * right > MAX_INT_BITS):
            raise TooExpensive("number")
    elif operator == "+":
        if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            _need(len(left) + len(right))
    elif operator == "%" and isinstance(left, str):
        _check_percent(left, right)


# -- string methods and str.format ---------------------------------------------------------------


def _join_size(separator: str | bytes, items: list[Any]) -> int:
    return (sum(len(i) if isinstance(i, str | bytes) else 0 for i in items)
            + len(separator) * max(0, len(items) - 1))


def _replace_size(text: str | bytes, old: Any, new: Any, count: Any = -1) -> int:
    if not isinstance(old, str | bytes) or not isinstance(new, str | bytes):
        return len(text)
    found = text.count(old) if old else len(text) + 1  # type: ignore[arg-type]
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(0, len(new) - len(old))


def _checked_method_args(owner: str | bytes, name: str, args: tuple[Any, ...]
                         ) -> tuple[Any, ...]:
    """``owner.name(*args)`` stays within the limits; the args to call it with (an iterable
    to join is read once, here)."""
    if name in ("center", "ljust", "rjust", "zfill") and args and isinstance(args[0], int):
        _need(args[0])
    elif name == "expandtabs":
        tabsize = args[0] if args and isinstance(args[0], int) else 8
        _need(len(owner) + owner.count("\t" if isinstance(owner, str) else b"\t")  # type: ignore[arg-type]
              * max(tabsize, 0))
    elif name == "replace" and len(args) >= 2:
        _need(_replace_size(owner, *args[:3]))
    elif name == "join" and args:
        items = list(args[0])
        _need(len(items))
        _need(_join_size(owner, items))
        return (items, *args[1:])
    elif name == "translate" and args and isinstance(args[0], Mapping):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str | bytes)),
                      default=1)
        _need(len(owner) * max(longest, 1))
    return args


def _check_spec(format_spec: str) -> None:
    for number in re.findall(r"\d+", format_spec):
        if len(number) > 6 or int(number) > MAX_WIDTH:
            raise TooExpensive("size")


class _BoundedFormatter(SandboxedFormatter):
    """``str.format`` in the sandbox, with bounded widths and result."""

    produced = 0

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        self.produced = 0
        return str(super().vformat(format_string, args, kwargs))

    def format_field(self, value: Any, format_spec: str) -> Any:
        _charge()
        _check_spec(format_spec)
        result = super().format_field(value, format_spec)
        self.produced += len(result)
        _need(self.produced)
        return result


class _BoundedEscapeFormatter(SandboxedEscapeFormatter):
    """``Markup.format`` in the sandbox, with bounded widths and result."""

    produced = 0

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        self.produced = 0
        return str(super().vformat(format_string, args, kwargs))

    def format_field(self, value: Any, format_spec: str) -> Any:
        _charge()
        _check_spec(format_spec)
        result = super().format_field(value, format_spec)
        self.produced += len(result)
        _need(self.produced)
        return result


# -- filters and globals ---------------------------------------------------------------------------


def metered(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` as a filter that charges a step, refuses string arguments (other than
    the value filtered) longer than :data:`MAX_ARGUMENT` and results larger than
    :data:`MAX_SIZE`. Keeps Jinja's ``pass_context``-style marks."""
    passes = 1 if hasattr(function, "jinja_pass_arg") else 0

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _charge()
        for argument in (*args[passes + 1:], *kwargs.values()):
            if isinstance(argument, str) and len(argument) > MAX_ARGUMENT:
                raise TooExpensive("argument")
        return _bounded(function(*args, **kwargs))

    return wrapper


def bounded_range(*args: int) -> range:
    """``range`` of at most :data:`MAX_RANGE` items."""
    _charge()
    numbers = range(*args)
    try:
        size = len(numbers)
    except OverflowError:
        raise TooExpensive("range") from None
    if size > MAX_RANGE:
        raise TooExpensive("range")
    return numbers


def bounded_lipsum(n: int = 5, html: bool = True, min: int = 20,
                   max: int = 100) -> str:
    """``lipsum`` of at most 20 paragraphs of at most 200 words."""
    _charge()
    if n > 20 or max > 200 or min > max:
        raise TooExpensive("size")
    return str(_bounded(generate_lorem_ipsum(n=n, html=html, min=min, max=max)))


def _center(value: object, width: int = 80) -> str:
    _need(width if isinstance(width, int) else 0)
    return filters.do_center(str(value), width)


def _indent(s: object, width: int | str = 4, first: bool = False,
            blank: bool = False) -> str:
    text = str(s)
    step = width if isinstance(width, int) else len(width)
    _need(len(text) + (text.count("\n") + 1) * max(step, 0))
    return filters.do_indent(text, width, first, blank)


def _batch(value: Iterable[Any], linecount: int, fill_with: Any = None) -> Iterator[list[Any]]:
    _need(linecount if isinstance(linecount, int) else 0)
    return filters.do_batch(value, linecount, fill_with)


def _slice(value: Any, slices: int, fill_with: Any = None) -> Iterator[list[Any]]:
    if isinstance(slices, int) and slices > MAX_RANGE:
        raise TooExpensive("range")
    return filters.sync_do_slice(value, slices, fill_with)


@pass_eval_context
def _replace(eval_ctx: EvalContext, s: Any, old: Any, new: Any, count: Any = None) -> str:
    _need(_replace_size(str(s), str(old), str(new), -1 if count is None else count))
    return filters.do_replace(eval_ctx, s, old, new, count)


@pass_eval_context
def _join(eval_ctx: EvalContext, value: Iterable[Any], d: str = "",
          attribute: str | int | None = None) -> str:
    items = list(value)
    _need(len(items))
    if attribute is not None:
        getter = filters.make_attrgetter(eval_ctx.environment, attribute)
        items = [getter(item) for item in items]
    _need(sum(_text_length(i) for i in items) + len(str(d)) * max(0, len(items) - 1))
    return filters.sync_do_join(eval_ctx, items, d)


def _format(value: object, *args: Any, **kwargs: Any) -> str:
    _check_percent(str(value), kwargs or args)
    return filters.do_format(str(value), *args, **kwargs)


@pass_environment
def _sum(environment: Environment, iterable: Iterable[Any],
         attribute: str | int | None = None, start: Any = 0) -> Any:
    items = list(iterable)
    if attribute is not None:
        getter = filters.make_attrgetter(environment, attribute)
        items = [getter(item) for item in items]
    if not all(isinstance(v, int | float) for v in (*items, start)):
        raise TypeError("sum adds numbers only")
    return sum(items, start)


def _round(value: float, precision: int = 0, method: str = "common") -> float:
    if isinstance(precision, int) and abs(precision) > 100:
        raise TooExpensive("number")
    return filters.do_round(value, precision, method)  # type: ignore[arg-type]


@pass_eval_context
def _tojson(eval_ctx: EvalContext, value: Any, indent: int | str | None = None) -> Markup:
    if isinstance(indent, int) and indent > 100:
        raise TooExpensive("size")
    return filters.do_tojson(eval_ctx, value, indent)  # type: ignore[arg-type]


@pass_environment
def _wordwrap(environment: Environment, s: str, width: int = 79,
              break_long_words: bool = True, wrapstring: str | None = None,
              break_on_hyphens: bool = True) -> str:
    text = str(s)
    lines = len(text) // max(width if isinstance(width, int) else 1, 1) + text.count("\n") + 1
    _need(len(text) + lines * len(wrapstring or environment.newline_sequence))
    return filters.do_wordwrap(environment, text, width, break_long_words, wrapstring,
                               break_on_hyphens)


@pass_context
def _step(context: Context, produced: int) -> str:
    """Charged once per loop iteration, macro call and call block: a step and the literal
    text of its body."""
    _charge(1, produced)
    return ""


@pass_eval_context
def _concat(eval_ctx: EvalContext, values: list[Any]) -> str:
    """The ``~`` operator, bounded."""
    _need(sum(_text_length(v) for v in values))
    join = markup_join if eval_ctx.autoescape else str_join
    return str(_bounded(join(values)))


_BOUNDED_FILTERS: Final[Mapping[str, Callable[..., Any]]] = {
    "center": _center, "indent": _indent, "batch": _batch, "slice": _slice,
    "replace": _replace, "join": _join, "format": _format, "sum": _sum, "round": _round,
    "tojson": _tojson, "wordwrap": _wordwrap,
}


def _finalize(value: Any) -> Any:
    _charge(1, _text_length(value))
    return value


# -- the environment ---------------------------------------------------------------------------


def _literal_size(body: list[nodes.Node]) -> int:
    """The literal text of ``body`` outside nested loops, macros and call blocks (they charge
    their own)."""
    total, stack = 0, list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, nodes.TemplateData):
            total += len(node.data)
        elif isinstance(node, nodes.For):
            stack.extend(node.else_)
        elif not isinstance(node, nodes.Macro | nodes.CallBlock):
            stack.extend(node.iter_child_nodes())
    return total


class _Metering(NodeTransformer):
    """Charges every loop iteration, macro call and call block; routes ``~`` through the
    bounded concatenation."""

    def get_visitor(self, node: nodes.Node) -> Callable[..., Any] | None:
        if isinstance(node, nodes.For | nodes.Macro | nodes.CallBlock):
            return self._charged
        if isinstance(node, nodes.Concat):
            return self._concat
        return None

    def _charged(self, node: nodes.For | nodes.Macro | nodes.CallBlock) -> nodes.Node:
        self.generic_visit(node)
        charge = nodes.Output([nodes.Filter(
            nodes.Const(_literal_size(node.body), lineno=node.lineno), "_step", [], [], None,
            None, lineno=node.lineno)], lineno=node.lineno)
        node.body.insert(0, charge)
        return node

    def _concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Filter(nodes.List(node.nodes, lineno=node.lineno), "_concat", [], [],
                            None, None, lineno=node.lineno)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """An immutable Jinja2 sandbox whose templates stay within the limits of this module
    (see its docstring). Add filters with :func:`metered`."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=_finalize, **options)
        self.globals["range"] = bounded_range
        self.globals["lipsum"] = bounded_lipsum
        for name, function in list(self.filters.items()):
            self.filters[name] = metered(_BOUNDED_FILTERS.get(name, function))
        self.filters["_step"] = _step
        self.filters["_concat"] = _concat

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        metered_tree = _Metering().visit(tree)
        assert isinstance(metered_tree, nodes.Template)
        metered_tree.set_environment(self)
        return metered_tree

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _charge()
        _check_binop(operator, left, right)
        return _bounded(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any,  # noqa: N805
             **kwargs: Any) -> Any:
        _charge()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str | bytes):
            args = _checked_method_args(owner, getattr(__obj, "__name__", ""), args)
        return _bounded(super().call(__context, __obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        _charge()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _charge()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` and ``str.format_map`` with bounded widths and results."""
        if getattr(value, "__name__", None) not in ("format", "format_map"):
            return None
        owner = getattr(value, "__self__", None)
        if not isinstance(owner, str):
            return None
        formatter: SandboxedFormatter = (
            _BoundedEscapeFormatter(self, escape=owner.escape) if isinstance(owner, Markup)
            else _BoundedFormatter(self))
        is_format_map = value.__name__ == "format_map"
        kind = type(owner)

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if not is_format_map:
                return kind(formatter.vformat(owner, args, kwargs))
            if kwargs or len(args) != 1:
                raise TypeError("format_map() takes exactly one argument")
            return kind(formatter.vformat(owner, (), args[0]))

        return functools.update_wrapper(wrapper, value)
