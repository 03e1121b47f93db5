"""The bounded sandbox every template renders in (:class:`BoundedSandbox`): an immutable
Jinja2 sandbox that applies the limits of :mod:`.limits` to every operator, filter, test,
call, attribute access, loop iteration, macro call and output. No I/O."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, cast

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

from notification_service.templates.limits import (
    MAX_ARGUMENT,
    MAX_RANGE,
    TooExpensive,
    bounded,
    charge,
    check_binop,
    check_percent,
    check_spec,
    checked_method_args,
    need,
    replace_size,
    text_length,
    weigh,
)

__all__ = ["BoundedSandbox", "metered"]


class _BoundedFormatter(SandboxedFormatter):
    """``str.format`` in the sandbox, with bounded widths and result."""

    produced = 0

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        self.produced = 0
        return str(super().vformat(format_string, args, kwargs))

    def format_field(self, value: Any, format_spec: str) -> Any:
        charge()
        check_spec(format_spec)
        weigh(value)
        result = super().format_field(value, format_spec)
        self.produced += len(result)
        need(self.produced)
        return result


class _BoundedEscapeFormatter(_BoundedFormatter, SandboxedEscapeFormatter):
    """``Markup.format`` in the sandbox, with the same bounds (escaping comes from the MRO)."""


# -- filters and globals ---------------------------------------------------------------------------


def metered(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` as a filter or test that charges a step, refuses values too heavy to
    handle (:func:`~.limits.weigh`), string arguments (other than the value filtered) longer
    than :data:`~.limits.MAX_ARGUMENT` and results larger than :data:`~.limits.MAX_SIZE`.
    Keeps Jinja's ``pass_context``-style marks."""
    passes = 1 if hasattr(function, "jinja_pass_arg") else 0

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        charge()
        for argument in (*args[passes:], *kwargs.values()):
            weigh(argument)
        for argument in (*args[passes + 1:], *kwargs.values()):
            if isinstance(argument, str) and len(argument) > MAX_ARGUMENT:
                raise TooExpensive("argument")
        return bounded(function(*args, **kwargs))

    return wrapper


def bounded_range(*args: int) -> range:
    """``range`` of at most :data:`MAX_RANGE` items."""
    charge()
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
    charge()
    if n > 20 or max > 200 or min > max:
        raise TooExpensive("size")
    return str(bounded(generate_lorem_ipsum(n=n, html=html, min=min, max=max)))


def _center(value: object, width: int = 80) -> str:
    need(width if isinstance(width, int) else 0)
    return filters.do_center(str(value), width)


def _indent(s: object, width: int | str = 4, first: bool = False,
            blank: bool = False) -> str:
    text = str(s)
    step = width if isinstance(width, int) else len(width)
    need(len(text) + (text.count("\n") + 1) * max(step, 0))
    return filters.do_indent(text, width, first, blank)


def _batch(value: Iterable[Any], linecount: int, fill_with: Any = None) -> Iterator[list[Any]]:
    need(linecount if isinstance(linecount, int) else 0)
    return filters.do_batch(value, linecount, fill_with)


def _slice(value: Any, slices: int, fill_with: Any = None) -> Iterator[list[Any]]:
    if isinstance(slices, int) and slices > MAX_RANGE:
        raise TooExpensive("range")
    return filters.sync_do_slice(value, slices, fill_with)


@pass_eval_context
def _replace(eval_ctx: EvalContext, s: Any, old: Any, new: Any, count: Any = None) -> str:
    need(replace_size(str(s), str(old), str(new), -1 if count is None else count))
    return filters.do_replace(eval_ctx, s, old, new, count)


@pass_eval_context
def _join(eval_ctx: EvalContext, value: Iterable[Any], d: str = "",
          attribute: str | int | None = None) -> str:
    items = list(value)
    need(len(items))
    if attribute is not None:
        getter = filters.make_attrgetter(eval_ctx.environment, attribute)
        items = [getter(item) for item in items]
    need(sum(text_length(i) for i in items) + len(str(d)) * max(0, len(items) - 1))
    return filters.sync_do_join(eval_ctx, items, d)


def _format(value: object, *args: Any, **kwargs: Any) -> str:
    check_percent(str(value), kwargs or args)
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
    need(len(text) + lines * len(wrapstring or environment.newline_sequence))
    return filters.do_wordwrap(environment, text, width, break_long_words, wrapstring,
                               break_on_hyphens)


_COMPARISONS: Final[Mapping[str, Callable[[Any, Any], Any]]] = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "gteq": operator.ge,
    "lt": operator.lt, "lteq": operator.le, "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b,
}


def _compare(values: Sequence[Any], ops: Sequence[str]) -> Any:
    """A comparison (chain), its operands weighed first (comparing deep values is work)."""
    charge()
    for value in values:
        weigh(value)
    result: Any = True
    for op, left, right in zip(ops, values, values[1:], strict=False):
        result = _COMPARISONS[op](left, right)
        if not result:
            return result
    return result


def _weighed(value: Any) -> Any:
    """A dict key, weighed first (hashing deep values is work)."""
    weigh(value)
    return value


@pass_context
def _step(context: Context, produced: int) -> str:
    """Charged once per loop iteration, macro call and call block: a step and the literal
    text of its body."""
    charge(1, produced)
    return ""


@pass_eval_context
def _concat(eval_ctx: EvalContext, values: list[Any]) -> str:
    """The ``~`` operator, bounded."""
    need(sum(text_length(v) for v in values))
    join = markup_join if eval_ctx.autoescape else str_join
    return str(bounded(join(values)))


def _pprint(value: Any) -> str:
    if weigh(value) > MAX_RANGE * 10:
        raise TooExpensive("size")
    return filters.do_pprint(value)


_BOUNDED_FILTERS: Final[Mapping[str, Callable[..., Any]]] = {
    "center": _center, "indent": _indent, "batch": _batch, "slice": _slice,
    "replace": _replace, "join": _join, "format": _format, "sum": _sum, "round": _round,
    "tojson": _tojson, "wordwrap": _wordwrap, "pprint": _pprint,
}


def _finalize(value: Any) -> Any:
    charge(1, text_length(value))
    return value


def _filter(node: nodes.Expr, name: str, *args: nodes.Expr) -> nodes.Filter:
    return nodes.Filter(node, name, list(args), [], None, None, lineno=node.lineno)


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
    """Charges every loop iteration, macro call and call block; routes ``~``, comparisons and
    dict keys through the bounded filters."""

    def get_visitor(self, node: nodes.Node) -> Callable[..., Any] | None:
        if isinstance(node, nodes.For | nodes.Macro | nodes.CallBlock):
            return self._charged
        if isinstance(node, nodes.Concat):
            return self._concat
        if isinstance(node, nodes.Compare):
            return self._compare
        if isinstance(node, nodes.Dict):
            return self._dict
        return None

    def _compare(self, node: nodes.Compare) -> nodes.Node:
        self.generic_visit(node)
        operands = nodes.List([node.expr, *(o.expr for o in node.ops)], lineno=node.lineno)
        ops = nodes.Const(tuple(o.op for o in node.ops), lineno=node.lineno)
        return _filter(operands, "_compare", ops)

    def _dict(self, node: nodes.Dict) -> nodes.Node:
        self.generic_visit(node)
        for pair in node.items:
            if not isinstance(pair.key, nodes.Const):
                pair.key = _filter(pair.key, "_weighed")
        return node

    def _charged(self, node: nodes.For | nodes.Macro | nodes.CallBlock) -> nodes.Node:
        self.generic_visit(node)
        node.body.insert(0, nodes.Output([_filter(
            nodes.Const(_literal_size(node.body), lineno=node.lineno), "_step")],
            lineno=node.lineno))
        return node

    def _concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _filter(nodes.List(node.nodes, lineno=node.lineno), "_concat")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """An immutable Jinja2 sandbox whose templates stay within the limits of :mod:`.limits`.
    Add filters with :func:`metered`."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=_finalize, **options)
        self.globals["range"] = bounded_range
        self.globals["lipsum"] = bounded_lipsum
        for name, function in list(self.filters.items()):
            self.filters[name] = metered(_BOUNDED_FILTERS.get(name, function))
        for name, test in list(self.tests.items()):
            self.tests[name] = metered(cast(Callable[..., Any], test))
        self.filters.update({"_step": _step, "_concat": _concat, "_compare": _compare,
                             "_weighed": _weighed})

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        metered_tree = _Metering().visit(tree)
        assert isinstance(metered_tree, nodes.Template)
        metered_tree.set_environment(self)
        return metered_tree

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        charge()
        check_binop(operator, left, right)
        return bounded(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any,  # noqa: N805
             **kwargs: Any) -> Any:
        charge()
        for argument in (*args, *kwargs.values()):
            weigh(argument)
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str | bytes):
            args = checked_method_args(owner, getattr(__obj, "__name__", ""), args)
        return bounded(super().call(__context, __obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        charge()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        charge()
        weigh(argument)
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
