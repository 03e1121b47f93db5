"""CEL behind a narrow, typed door: compiling (cached, with the engine's static limits), finding
what an expression refers to, bounding the inputs, and evaluating to a checked Python type.

Nothing here knows fee rules; every failure is an :class:`ExpressionError` whose message is
safe to show (it never quotes form data or CEL's own error text about values).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Final

import cel

__all__ = [
    "MAX_COLLECTION",
    "MAX_COMPREHENSIONS",
    "MAX_DEPTH",
    "MAX_ITEMS",
    "MAX_NODES",
    "MAX_STRING",
    "ExpressionError",
    "InputTooLarge",
    "check_bounded",
    "compile_expression",
    "evaluate_amount",
    "evaluate_bool",
    "evaluate_list",
    "free_variables",
    "value_references",
]

#: Comprehension macros (``filter``, ``all``, ``exists``, ``exists_one``) per expression. CEL
#: has no loops besides these; one comprehension over a bounded list keeps an evaluation
#: linear in its inputs (nested ones multiply). ``map`` is refused: it is the one macro that
#: builds new values per element (the library copies them quadratically), and fee rules need
#: counts and conditions, not new lists. ``matches`` takes a literal pattern only: a pattern
#: built from form data is compiled once per call.
MAX_COMPREHENSIONS: Final = 1
#: Elements of the ``items`` list of a ``per_item`` component.
MAX_ITEMS: Final = 100
#: Limits of the form data and values handed to CEL (deeper nesting crashes the native code).
MAX_DEPTH: Final = 16
MAX_COLLECTION: Final = 100
MAX_STRING: Final = 10_000
MAX_NODES: Final = 10_000
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1

_MACRO = re.compile(r"\.\s*(?:all|exists_one|exists|map|filter)\s*\(\s*([A-Za-z_]\w*)?")
_MAP = re.compile(r"\.\s*map\s*\(")
_MATCHES = re.compile(r"\bmatches\b")
_MATCHES_LITERAL = re.compile(
    r"""\.\s*matches\s*\(\s*[rR]?(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")\s*\)"""
)
_VALUE_FIELD = re.compile(r"(?<![\w.])values\s*\.\s*([A-Za-z_]\w*)")
_VALUE_INDEX = re.compile(r"""(?<![\w.])values\s*\[\s*(?:'([^'\\]*)'|"([^"\\]*)")\s*\]""")
_VALUE_SUBSCRIPT = re.compile(r"(?<![\w.])values\s*\[")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PARSE_POSITION = re.compile(r"<input>:(\d+):(\d+): ([^\n]{1,160})")

class ExpressionError(Exception):
    """An expression cannot be compiled or evaluated, or gave the wrong type. ``str()`` is a
    message for people that names no input value."""


class InputTooLarge(ExpressionError):
    """Form data or values beyond the engine's limits; ``limit`` names the limit."""

    def __init__(self, message: str, limit: str) -> None:
        super().__init__(message)
        self.limit = limit


@functools.lru_cache(maxsize=4096)
def compile_expression(expression: str) -> cel.Program:
    """The compiled program of ``expression``; cached per expression string.

    Raises :class:`ExpressionError` for a syntax error, a control character (a line break would
    let a ``//`` comment hide a comprehension from the limit) or more than
    :data:`MAX_COMPREHENSIONS` comprehensions, ``map`` or ``matches`` with a computed pattern.
    Failures are not cached.
    """
    if _CONTROL.search(expression):
        raise ExpressionError("Expressions are one line without control characters.")
    if _MAP.search(expression):
        raise ExpressionError("map is not available; use filter, all, exists or exists_one.")
    if len(_MATCHES.findall(expression)) != len(_MATCHES_LITERAL.findall(expression)):
        raise ExpressionError("matches takes a literal pattern: x.matches('^[0-9]+$').")
    if len(_MACRO.findall(expression)) > MAX_COMPREHENSIONS:
        raise ExpressionError(
            f"At most {MAX_COMPREHENSIONS} comprehension (filter, all, exists, exists_one) "
            "per expression."
        )
    try:
        return cel.compile(expression)
    except Exception as exc:
        # The parser's message quotes only the rule author's expression, never form data.
        found = _PARSE_POSITION.search(str(exc))
        where = f" at {found[1]}:{found[2]}: {found[3]}" if found else ""
        raise ExpressionError(f"Syntax error{where}.") from None


def free_variables(expression: str) -> set[str]:
    """The variables ``expression`` reads from its context (comprehension variables removed).
    Requires a compilable expression."""
    bound = {name for name in _MACRO.findall(expression) if name}
    return set(compile_expression(expression).variables()) - bound


def value_references(expression: str) -> tuple[set[str], bool]:
    """The names of ``values`` an expression reads (``values.x``, ``values['x']``), and whether
    it also indexes ``values`` with a computed key, which cannot be checked statically."""
    names = set(_VALUE_FIELD.findall(expression))
    literal = _VALUE_INDEX.findall(expression)
    names.update(a or b for a, b in literal)
    return names, len(_VALUE_SUBSCRIPT.findall(expression)) > len(literal)


def check_bounded(value: object, what: str) -> None:
    """Raise :class:`InputTooLarge` unless ``value`` is JSON-like (``None``, bool, int within
    64 bits, finite float, str, list/tuple, dict with str keys) and within the limits."""
    stack: list[tuple[object, int]] = [(value, 0)]
    nodes = 0
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise InputTooLarge(f"The {what} has more than {MAX_NODES} elements.", "size")
        if depth > MAX_DEPTH:
            raise InputTooLarge(f"The {what} is nested deeper than {MAX_DEPTH}.", "depth")
        if node is None or isinstance(node, bool):
            continue
        if isinstance(node, int):
            if not _INT64_MIN <= node <= _INT64_MAX:
                raise InputTooLarge(f"The {what} holds an integer beyond 64 bits.", "integer")
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise InputTooLarge(f"The {what} holds a non-finite number.", "number")
        elif isinstance(node, str):
            if len(node) > MAX_STRING:
                raise InputTooLarge(
                    f"The {what} holds a text longer than {MAX_STRING} characters.", "string"
                )
        elif isinstance(node, dict):
            if len(node) > MAX_COLLECTION:
                raise InputTooLarge(
                    f"The {what} holds an object of more than {MAX_COLLECTION} members.",
                    "collection",
                )
            for key, member in node.items():
                if not isinstance(key, str) or len(key) > MAX_STRING:
                    raise InputTooLarge(f"The {what} holds a key that is not a text.", "type")
                stack.append((member, depth + 1))
        elif isinstance(node, list | tuple):
            if len(node) > MAX_COLLECTION:
                raise InputTooLarge(
                    f"The {what} holds a list of more than {MAX_COLLECTION} elements.",
                    "collection",
                )
            stack.extend((member, depth + 1) for member in node)
        else:
            raise InputTooLarge(f"The {what} holds a value that is not JSON.", "type")


def _run(expression: str, context: cel.Context) -> object:
    program = compile_expression(expression)
    try:
        result: object = program.execute(context)
    except LookupError:
        raise ExpressionError("A field, value or element it reads is missing.") from None
    except TypeError:
        raise ExpressionError("An operation got operands of the wrong type.") from None
    except ArithmeticError:
        raise ExpressionError("An arithmetic operation overflowed or divided by zero.") from None
    except Exception:
        # ValueError (conversions), RuntimeError (unknown names, function errors) and whatever
        # else the native library raises: the message may quote form data, so it is dropped.
        raise ExpressionError("It could not be evaluated for this data.") from None
    return result


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "bool", int: "int", float: "double", str: "string", list: "list"}.get(
        type(value), "map" if isinstance(value, Mapping) else "other value"
    )


def evaluate_amount(expression: str, context: cel.Context) -> int:
    """Evaluate to a non-negative integer (CEL int or uint); doubles, bools and negative
    numbers are refused."""
    result = _run(expression, context)
    if type(result) is not int:
        raise ExpressionError(f"It must give a non-negative int, not a {_kind(result)}.")
    if result < 0:
        raise ExpressionError("It must give a non-negative int, not a negative one.")
    return result


def evaluate_bool(expression: str, context: cel.Context) -> bool:
    """Evaluate to a bool; nothing else is truthy."""
    result = _run(expression, context)
    if type(result) is not bool:
        raise ExpressionError(f"It must give a bool, not a {_kind(result)}.")
    return result


def evaluate_list(expression: str, context: cel.Context) -> Sequence[object]:
    """Evaluate to a list of at most :data:`MAX_ITEMS` elements."""
    result = _run(expression, context)
    if type(result) is not list:
        raise ExpressionError(f"It must give a list, not a {_kind(result)}.")
    if len(result) > MAX_ITEMS:
        raise ExpressionError(f"It must give a list of at most {MAX_ITEMS} elements.")
    return result
