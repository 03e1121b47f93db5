"""The configured JSON Schema 2020-12 validator of forms: checked formats, ECMA-262-like
patterns, and a registry that never retrieves anything over the network."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from functools import lru_cache

from jsonschema import Draft202012Validator, FormatChecker, ValidationError  # type: ignore[import-untyped]
from jsonschema.protocols import Validator  # type: ignore[import-untyped]
from jsonschema.validators import extend  # type: ignore[import-untyped]
from referencing import Registry

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)
# Pragmatic, not RFC 5321 complete: one "@", no spaces, a dotted domain; what a city can mail.
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")

#: Only these formats are asserted; others stay annotations (JSON Schema's default).
FORMATS = FormatChecker(formats=())


def _is_date(value: object) -> bool:
    return not isinstance(value, str) or bool(
        _DATE.fullmatch(value) and date.fromisoformat(value)
    )


def _is_date_time(value: object) -> bool:
    # fromisoformat checks the calendar (no February 30th); the regex the RFC 3339 shape.
    return not isinstance(value, str) or bool(
        _DATE_TIME.fullmatch(value) and datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    )


def _is_email(value: object) -> bool:
    return not isinstance(value, str) or (len(value) <= 254 and bool(_EMAIL.fullmatch(value)))


# Registered by call rather than decorator: jsonschema is untyped, its decorator would erase types.
FORMATS.checks("date", raises=ValueError)(_is_date)
FORMATS.checks("date-time", raises=ValueError)(_is_date_time)
FORMATS.checks("email")(_is_email)


def translate_pattern(pattern: str) -> str:
    """``pattern`` with ECMA-262 anchors: an unescaped ``$`` outside a character class
    becomes ``\\Z``, since Python's ``$`` also matches before a final newline ("12345\\n"
    would pass ``^[0-9]{5}$``)."""
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            out.append(r"\Z")
            continue
        out.append(char)
    return "".join(out)


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The compiled form of a schema ``pattern``; ``\\d``/``\\w`` are ASCII as in ECMA-262.
    Raises ``re.error`` for a pattern Python cannot compile."""
    return re.compile(translate_pattern(pattern), re.ASCII)


def _pattern(
    validator: Validator, pattern: str, instance: object, schema: Mapping[str, object]
) -> Iterator[ValidationError]:
    if isinstance(instance, str) and not compile_pattern(pattern).search(instance):
        yield ValidationError("does not match the pattern")


_FormValidator = extend(Draft202012Validator, {"pattern": _pattern})
#: Empty: a ``$ref`` that is not in the form itself fails instead of being fetched.
_NO_RETRIEVAL: Registry[object] = Registry()


def form_validator(schema: Mapping[str, object]) -> Validator:
    """A validator of data against ``schema`` (assumed checked by ``check_form_schema``)."""
    return _FormValidator(schema, registry=_NO_RETRIEVAL, format_checker=FORMATS)


def metaschema_validator() -> Validator:
    """A validator of form definitions against the 2020-12 metaschema (bundled, offline)."""
    return Draft202012Validator(Draft202012Validator.META_SCHEMA, format_checker=FORMATS)
