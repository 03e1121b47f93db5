"""The limits every template render stays within, and the checks that enforce them: a
department's template cannot loop for minutes, build gigabyte strings or stall the service.
No I/O; the sandbox that applies these checks is :mod:`.sandbox`, rendering :mod:`.rendering`.

What is bounded: ``range`` (at most :data:`MAX_RANGE` items); anything built in one step (the
operators ``*``, ``**``, ``+``, ``%`` and ``~``, ``str.format`` widths, string methods and
filters that take a size) refuses before building more than :data:`MAX_SIZE` characters or
items; a value is turned into text, compared or hashed only if its :func:`weigh` (what
``repr`` would visit, counting shared parts each time they are reached) is at most
:data:`MAX_WEIGHT`. Every loop iteration, macro call, call, attribute access, filter and
output charges a :class:`Budget` per message: at most :data:`MAX_STEPS` steps,
:data:`MAX_PRODUCED` characters produced (also inside macros and ``set`` blocks; loops are
charged with their literal text) and :data:`TIME_BUDGET` seconds. The rendered text of one
part is cut off at :data:`MAX_OUTPUT`. Exceeding any of them raises :class:`TooExpensive`.

Limits of the approach: callers render in a worker thread (``asyncio.to_thread``) so the event
loop keeps answering, but a thread cannot be killed; the budget is cooperative, checked between
steps, so a render overruns its deadline by at most one step. Each step is bounded by the size
and weight limits: a builtin in C (sort, join, repr, json) on :data:`MAX_SIZE` items takes
milliseconds; the slowest steps are filters written in Python (``unique``, ``groupby``,
``pprint``) on that many items, up to about a second, and those release the GIL to the event
loop as any Python code does. Memory held by the params themselves is bounded by the request
body limit, not here. A hostile template thus holds one worker thread for about
:data:`TIME_BUDGET` seconds (at most twice that) per message.
"""

from __future__ import annotations

import re
import time
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final, cast

from jinja2.utils import Namespace

__all__ = [
    "MAX_ARGUMENT",
    "MAX_OUTPUT",
    "MAX_RANGE",
    "MAX_SIZE",
    "MAX_STEPS",
    "MAX_WEIGHT",
    "TIME_BUDGET",
    "Budget",
    "TooExpensive",
    "bounded",
    "budgeted",
    "charge",
    "check_binop",
    "check_percent",
    "check_spec",
    "checked_method_args",
    "join_size",
    "need",
    "replace_size",
    "text_length",
    "weigh",
]

MAX_RANGE: Final = 1_000
MAX_SIZE: Final = 100_000
MAX_OUTPUT: Final = 100_000
MAX_PRODUCED: Final = 1_000_000
MAX_STEPS: Final = 100_000
MAX_INT_BITS: Final = 4_096
MAX_WIDTH: Final = 1_000
MAX_ARGUMENT: Final = 1_000
MAX_WEIGHT: Final = 1_000_000
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

    __slots__ = ("deadline", "produced", "steps", "weights")

    def __init__(self, seconds: float = TIME_BUDGET) -> None:
        self.steps = 0
        self.produced = 0
        self.deadline = time.monotonic() + seconds
        self.weights: dict[int, tuple[object, int]] = {}

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


def charge(steps: int = 1, produced: int = 0) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge(steps, produced)


def need(size: int, limit: str = "size") -> None:
    if size > MAX_SIZE:
        raise TooExpensive(limit)


def bounded(value: Any) -> Any:
    if isinstance(value, _SIZED) and len(value) > MAX_SIZE:
        raise TooExpensive("size")
    return value


_SCALARS: Final = frozenset({int, float, bool, type(None)})


def _parts(value: object) -> list[Any] | None:
    """What ``repr`` of ``value`` visits, or None for a leaf."""
    kind = type(value)
    if kind is str or kind in _SCALARS:
        return None
    if kind is list:
        return cast(list[Any], value)
    if kind is tuple or kind is set or kind is frozenset:
        return list(cast(Iterable[Any], value))
    if kind is dict:
        mapping = cast(dict[Any, Any], value)
        return [*mapping, *mapping.values()]
    if isinstance(value, str | bytes | int | float):
        return None
    if isinstance(value, list | tuple | set | frozenset | KeysView | ValuesView | ItemsView):
        return list(value)
    if isinstance(value, Mapping):
        return [*value.keys(), *value.values()]
    if isinstance(value, Namespace):
        attrs: dict[str, Any] = object.__getattribute__(value, "_Namespace__attrs")
        return list(attrs.values())
    return None


def _leaf(value: object) -> int:
    return 1 + len(value) // 64 if isinstance(value, str | bytes) else 1


def weigh(value: object) -> int:
    """How much ``repr`` (or comparing, hashing) of ``value`` would visit: every part counted
    each time it is reached, so ``[[x] * 100] * 100`` weighs 10 000 times ``x``. Linear in the
    distinct parts (weights are remembered for the render, except of what contains a
    namespace: it can change).

    :raises TooExpensive: the weight exceeds :data:`MAX_WEIGHT`.
    """
    parts = _parts(value)
    if parts is None:
        return _leaf(value)
    budget = _BUDGET.get()
    memo: dict[int, tuple[object, int]] = budget.weights if budget is not None else {}
    if id(value) in memo:
        return memo[id(value)][1]
    # Frames: [node, its parts, next index, weight so far, changeable]; iterative, as a
    # template can nest values deeper than Python's recursion limit.
    frames: list[list[Any]] = [[value, parts, 0, 1, isinstance(value, Namespace)]]
    active = {id(value)}
    while frames:
        frame = frames[-1]
        node, kids, index = frame[0], frame[1], frame[2]
        if index < len(kids):
            frame[2] = index + 1
            kid = kids[index]
            kid_parts = _parts(kid)
            if kid_parts is None:
                frame[3] += _leaf(kid)
            elif id(kid) in memo:
                frame[3] += memo[id(kid)][1]
            elif id(kid) in active:  # a cycle through a namespace: repr prints "..."
                frame[3] += 1
                frame[4] = True
            else:
                active.add(id(kid))
                frames.append([kid, kid_parts, 0, 1, isinstance(kid, Namespace)])
                continue
        else:
            frames.pop()
            active.discard(id(node))
            if not frame[4]:
                memo[id(node)] = (node, frame[3])
            if frames:
                frames[-1][3] += frame[3]
                frames[-1][4] = frames[-1][4] or frame[4]
            else:
                return int(frame[3])
        if frame[3] > MAX_WEIGHT or (frames and frames[-1][3] > MAX_WEIGHT):
            raise TooExpensive("size")
    raise AssertionError("unreachable")


def text_length(value: object) -> int:
    """The length of ``str(value)``, computed only if :func:`weigh` allows it."""
    if isinstance(value, str):
        return len(value)
    weigh(value)
    return len(str(value))


# -- operators ---------------------------------------------------------------------------------

_CONVERSION: Final = re.compile(
    r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([diouxXeEfFgGcrsa%])")


def check_percent(template: str, values: object) -> None:
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
    longest = max((text_length(v) for v in items), default=0)
    need(len(template) + conversions * (longest + widest + 400))


def check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, _SEQUENCES) and isinstance(times, int) and times > 0:
                need(len(seq) * times)
        if isinstance(left, int) and isinstance(right, int) and (
                left.bit_length() + right.bit_length() > MAX_INT_BITS):
            raise TooExpensive("number")
    elif operator == "**":
        if (isinstance(left, int) and isinstance(right, int) and right > 0
                and abs(left) > 1 and left.bit_length() * right > MAX_INT_BITS):
            raise TooExpensive("number")
    elif operator == "+":
        if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            need(len(left) + len(right))
    elif operator == "%" and isinstance(left, str):
        check_percent(left, right)


# -- string methods and str.format ---------------------------------------------------------------


def join_size(separator: str | bytes, items: list[Any]) -> int:
    return (sum(len(i) if isinstance(i, str | bytes) else 0 for i in items)
            + len(separator) * max(0, len(items) - 1))


def replace_size(text: str | bytes, old: Any, new: Any, count: Any = -1) -> int:
    if not isinstance(old, str | bytes) or not isinstance(new, str | bytes):
        return len(text)
    found = text.count(old) if old else len(text) + 1  # type: ignore[arg-type]
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(0, len(new) - len(old))


def checked_method_args(owner: str | bytes, name: str, args: tuple[Any, ...]
                         ) -> tuple[Any, ...]:
    """``owner.name(*args)`` stays within the limits; the args to call it with (an iterable
    to join is read once, here)."""
    if name in ("center", "ljust", "rjust", "zfill") and args and isinstance(args[0], int):
        need(args[0])
    elif name == "expandtabs":
        tabsize = args[0] if args and isinstance(args[0], int) else 8
        need(len(owner) + owner.count("\t" if isinstance(owner, str) else b"\t")  # type: ignore[arg-type]
              * max(tabsize, 0))
    elif name == "replace" and len(args) >= 2:
        need(replace_size(owner, *args[:3]))
    elif name == "join" and args:
        items = list(args[0])
        need(len(items))
        need(join_size(owner, items))
        return (items, *args[1:])
    elif name == "translate" and args and isinstance(args[0], Mapping):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str | bytes)),
                      default=1)
        need(len(owner) * max(longest, 1))
    return args


def check_spec(format_spec: str) -> None:
    for number in re.findall(r"\d+", format_spec):
        if len(number) > 6 or int(number) > MAX_WIDTH:
            raise TooExpensive("size")
