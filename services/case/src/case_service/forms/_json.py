"""JSON helpers of the form engine: RFC 6901 pointers and an iterative, bounded walk over
untrusted JSON values (size, depth, NUL characters, numbers). No schema knowledge lives here."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

#: One step of a location inside a JSON document: a member name or an array index.
Segment: TypeAlias = str | int
Path: TypeAlias = tuple[Segment, ...]

#: Integers wider than this are refused before validation: no form needs them, and the
#: validator's messages and float arithmetic fail on very large ones.
MAX_INTEGER_BITS = 64


def pointer(path: Iterable[Segment]) -> str:
    """The RFC 6901 JSON pointer of ``path`` (``""`` is the whole document)."""
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in path)


def sort_key(path: Path) -> tuple[tuple[int, int, str], ...]:
    """Order of locations as a reader expects it: array indexes numerically (``/dogs/2``
    before ``/dogs/10``), member names alphabetically."""
    return tuple((0, s, "") if isinstance(s, int) else (1, 0, s) for s in path)


@dataclass(frozen=True, slots=True)
class Violation:
    """A structural problem found by :func:`inspect`: where, and which guard code."""

    path: Path
    code: str


def _encoded_length(text: str) -> int:
    # ``surrogatepass``: a lone surrogate is legal in a Python str parsed from JSON.
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8", "surrogatepass"))


def _scalar_length(value: object) -> int:
    if value is None or value is True:
        return 4
    if value is False:
        return 5
    if isinstance(value, int):
        if value.bit_length() <= MAX_INTEGER_BITS:
            return len(str(value))
        # Estimated from the bit length: ``str()`` of a huge integer raises ValueError.
        return int(value.bit_length() * 0.30103) + 2
    if isinstance(value, float):
        return len(repr(value))
    return 1


def inspect(
    value: object, *, max_depth: int, max_bytes: int, check_numbers: bool
) -> list[Violation]:
    """Problems of ``value`` as a JSON document, never raising and never recursing.

    Codes: ``too_large`` (serialized UTF-8 size over ``max_bytes``, path ``()``; or, with
    ``check_numbers``, an integer over :data:`MAX_INTEGER_BITS` bits), ``too_deep`` (an object
    or array nested deeper than ``max_depth``, the root being depth 1), ``nul_character`` (a
    string or member name containing U+0000; for a name, the path of its object) and, with
    ``check_numbers``, ``type`` (NaN or an infinity, which JSON cannot carry). The walk stops
    at the first size or depth problem, since what lies beyond is not worth reading.
    """
    found: list[Violation] = []
    size = 0
    stack: list[tuple[object, Path, int]] = [(value, (), 1)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, Mapping):
            if depth > max_depth:
                return [Violation(path, "too_deep")]
            size += 2 + max(len(item) - 1, 0)
            for key, child in item.items():
                name = str(key)
                if len(name) > max_bytes:
                    return [Violation((), "too_large")]
                size += _encoded_length(name) + 1
                if "\x00" in name:
                    found.append(Violation(path, "nul_character"))
                    continue
                stack.append((child, (*path, name), depth + 1))
        elif isinstance(item, list | tuple):
            if depth > max_depth:
                return [Violation(path, "too_deep")]
            size += 2 + max(len(item) - 1, 0)
            stack.extend((child, (*path, i), depth + 1) for i, child in enumerate(item))
        elif isinstance(item, str):
            if len(item) > max_bytes:
                return [Violation((), "too_large")]
            size += _encoded_length(item)
            if "\x00" in item:
                found.append(Violation(path, "nul_character"))
        else:
            size += _scalar_length(item)
            if check_numbers and not isinstance(item, bool):
                if isinstance(item, int) and item.bit_length() > MAX_INTEGER_BITS:
                    found.append(Violation(path, "too_large"))
                elif isinstance(item, float) and not math.isfinite(item):
                    found.append(Violation(path, "type"))
        if size > max_bytes:
            return [Violation((), "too_large")]
    return found


def resolve(document: object, path: Sequence[Segment]) -> object | None:
    """The value at ``path`` in ``document``, or None when the path leads nowhere."""
    node = document
    for segment in path:
        if isinstance(node, Mapping) and str(segment) in node:
            node = node[str(segment)]
        elif isinstance(node, list) and str(segment).isdecimal() and int(segment) < len(node):
            node = node[int(segment)]
        else:
            return None
    return node


def parse_pointer(text: str) -> list[str] | None:
    """The segments of an RFC 6901 pointer (``""`` or ``/a/b``), or None if malformed."""
    if text == "":
        return []
    if not text.startswith("/"):
        return None
    return [s.replace("~1", "/").replace("~0", "~") for s in text[1:].split("/")]
