"""The metric names a PromQL expression reads, and the label names its selectors match on: enough
of PromQL's lexical structure to check alert rules against the metrics that exist, without a
parser (the syntax itself is checked by ``promtool check rules``).

The expression is reduced step by step: string literals blanked (they may hold braces), label
matchers ``{...}`` read and removed, range and subquery brackets, grouping clauses (``by (...)``,
``on (...)``, ...) and number and duration literals removed. What is left of each identifier not
followed by ``(`` (a function or an aggregation) and not a keyword is a metric name.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["selectors"]

_STRING: Final = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_SELECTOR: Final = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}")
_MATCHER: Final = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
_GROUPING: Final = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_RANGE: Final = re.compile(r"\[[^\]]*\]")
_NUMBER: Final = re.compile(
    r"(?<![\w:.])(?:(?:\d+(?:ms|[smhdwy]))+|0x[0-9a-f]+|\d*\.?\d+(?:e[+-]?\d+)?)(?![\w:])",
    re.IGNORECASE)
_IDENTIFIER: Final = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")
_KEYWORDS: Final = frozenset({
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "atan2", "inf", "nan", "sum", "min", "max", "avg", "group", "stddev",
    "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio",
})


def selectors(expr: str) -> dict[str, set[str]]:
    """Each metric name ``expr`` reads, with the label names its matchers use (empty for a bare
    name)."""
    masked = _STRING.sub('""', expr)
    found: dict[str, set[str]] = {}
    for match in _SELECTOR.finditer(masked):
        name = match.group(1)
        if name and name not in _KEYWORDS:
            found.setdefault(name, set()).update(_MATCHER.findall(match.group(2)))
    rest = _SELECTOR.sub(lambda m: (m.group(1) or "") + " ", masked)
    for pattern in (_RANGE, _GROUPING, _NUMBER):
        rest = pattern.sub(" ", rest)
    for match in _IDENTIFIER.finditer(rest):
        if match.group(2) is None and match.group(1) not in _KEYWORDS:
            found.setdefault(match.group(1), set())
    return found
