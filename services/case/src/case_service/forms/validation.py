"""Validation of citizen-entered form data against a form definition, with localized errors
located by JSON pointer. Pure: no I/O; never raises for any data a client can send."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from jsonschema import ValidationError  # type: ignore[import-untyped]

from city_shared.errors import DomainError, JsonValue

from ._engine import compile_pattern, form_validator
from ._json import Path, Segment, inspect, parse_pointer, pointer, resolve, sort_key
from .messages import Locale, expected_types, render
from .patch import merge_patch

__all__ = [
    "MAX_DATA_BYTES",
    "MAX_DATA_DEPTH",
    "MAX_ERRORS",
    "FieldError",
    "FormInvalid",
    "merge_patch",
    "require_valid",
    "validate_form",
]

MAX_DATA_DEPTH = 10
MAX_DATA_BYTES = 256 * 1024
#: The errors shown at once; a citizen fixes the first ones and submits again.
MAX_ERRORS = 50
#: Raw validator errors read at most: bounds the time spent on, say, 100,000 wrong entries.
_MAX_RAW_ERRORS = 1000
#: Codes of absent values: a draft may still lack them.
_ABSENCE = frozenset({"required", "dependentRequired"})
_LIMIT_KEYWORDS = frozenset({
    "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "multipleOf", "minItems", "maxItems", "minProperties", "maxProperties",
})


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem of the data: ``pointer`` (RFC 6901, into the data; for a missing property
    the pointer it would have), ``code`` (the JSON Schema keyword, or ``nul_character`` /
    ``too_deep`` / ``too_large``) and ``message`` (localized, never quoting the value)."""

    pointer: str
    code: str
    message: str

    def to_dict(self) -> dict[str, JsonValue]:
        """The problem+json ``errors`` entry."""
        return {"pointer": self.pointer, "code": self.code, "message": self.message}


class FormInvalid(DomainError):
    """422: the form data does not satisfy the form; ``errors`` lists every field error."""

    status = 422
    code = "form_invalid"
    title = "Form data invalid"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__(
            "Some entries of the form need to be corrected.",
            extra={"errors": [e.to_dict() for e in errors]},
        )
        self.errors = list(errors)


def validate_form(
    schema: Mapping[str, object], data: object, *, locale: Locale, partial: bool
) -> list[FieldError]:
    """The errors of ``data`` against the form ``schema`` (checked by ``check_form_schema``),
    in ``locale``; empty when valid.

    ``partial`` (a draft) ignores missing values (``required``, ``dependentRequired``, also
    inside ``if``/``then`` and a ``oneOf``/``anyOf`` that fails only for them) and reports
    everything else. Guards run first and, when they find anything, are all that is
    reported: ``data`` must be a JSON object (else ``type`` at ``""``), at most
    :data:`MAX_DATA_DEPTH` deep and :data:`MAX_DATA_BYTES` serialized, without NUL characters,
    with finite numbers and integers of at most 64 bits. Errors are sorted by location
    (array indexes numerically), then code; at most :data:`MAX_ERRORS`.
    """
    if not isinstance(data, Mapping):
        return [_field_error(schema, (), "type", locale, expected=expected_types("object", locale))]
    violations = inspect(data, max_depth=MAX_DATA_DEPTH, max_bytes=MAX_DATA_BYTES,
                         check_numbers=True)
    if violations:
        found = [(v.path, v.code, _guard_params(v.code, locale)) for v in violations]
    else:
        raw = form_validator(schema).iter_errors(data)
        found = [
            item
            for error in itertools.islice(raw, _MAX_RAW_ERRORS)
            if not (partial and _only_absence(error))
            for item in _explain(error, locale)
            if not (partial and item[1] in _ABSENCE)
        ]
    unique = {(path, code): params for path, code, params in found}
    ordered = sorted(unique.items(), key=lambda item: (sort_key(item[0][0]), item[0][1]))
    return [
        _field_error(schema, path, code, locale, **params)
        for (path, code), params in ordered[:MAX_ERRORS]
    ]


def require_valid(
    schema: Mapping[str, object], data: object, locale: Locale, partial: bool
) -> None:
    """Raise :class:`FormInvalid` with the errors of :func:`validate_form`, if there are any."""
    errors = validate_form(schema, data, locale=locale, partial=partial)
    if errors:
        raise FormInvalid(errors)


_Found = tuple[Path, str, dict[str, str]]


def _guard_params(code: str, locale: Locale) -> dict[str, str]:
    return {"expected": expected_types("number", locale)} if code == "type" else {}


def _only_absence(error: ValidationError) -> bool:
    """True for a choice (``oneOf``/``anyOf``) that failed only because values are missing:
    a draft that has not yet filled in "email or phone" is not wrong."""
    return error.validator in ("oneOf", "anyOf") and bool(error.context) and all(
        sub.validator in _ABSENCE for sub in error.context
    )


def _explain(error: ValidationError, locale: Locale) -> Iterator[_Found]:
    """One validator error as (data path, code, message parameters) triples: a missing or
    extra property is located at the property itself, not at its object."""
    path: Path = tuple(error.absolute_path)
    keyword = error.validator if isinstance(error.validator, str) else "false"
    instance, value = error.instance, error.validator_value
    if keyword == "required" and isinstance(instance, Mapping) and isinstance(value, list):
        for name in value:
            if isinstance(name, str) and name not in instance:
                yield (*path, name), keyword, {}
    elif keyword == "dependentRequired" and isinstance(instance, Mapping):
        for trigger, needed in dict(value).items():
            if trigger in instance:
                for name in needed:
                    if name not in instance:
                        yield (*path, name), keyword, {}
    elif keyword == "additionalProperties" and isinstance(instance, Mapping):
        extras = _extra_properties(error.schema, instance)
        for name in extras:
            yield (*path, name), keyword, {}
        if not extras:
            yield path, keyword, {}
    elif keyword == "type":
        yield path, keyword, {"expected": expected_types(value, locale)}
    elif keyword == "format":
        yield path, f"format:{value}", {}
    elif keyword in _LIMIT_KEYWORDS:
        yield path, keyword, {"limit": _number(value, locale)}
    else:
        yield path, keyword, {}


def _extra_properties(schema: object, instance: Mapping[str, object]) -> list[str]:
    if not isinstance(schema, Mapping):
        return []
    declared = schema.get("properties")
    patterns = schema.get("patternProperties")
    names = set(declared) if isinstance(declared, Mapping) else set()
    regexes = [compile_pattern(p) for p in patterns] if isinstance(patterns, Mapping) else []
    return [
        str(key)
        for key in instance
        if key not in names and not any(r.search(str(key)) for r in regexes)
    ]


def _number(value: object, locale: Locale) -> str:
    text = str(value)
    return text.replace(".", ",") if locale == "de" else text


def _field_error(
    schema: Mapping[str, object], path: Path, code: str, locale: Locale, **params: str
) -> FieldError:
    public_code = "format" if code.startswith("format:") else code
    message = render(code, locale, _label(schema, path, locale), **params)
    return FieldError(pointer=pointer(path), code=public_code, message=message)


_REF = re.compile(r"#(/.*)?")


def _label(schema: Mapping[str, object], path: Sequence[Segment], locale: Locale) -> str | None:
    """The ``x-label`` of the property at data ``path``, following ``properties``, ``items``
    and local ``$ref``s from the root; None where the form names no label."""
    node: object = schema
    for segment in path:
        node = _deref(schema, node)
        if not isinstance(node, Mapping):
            return None
        if isinstance(segment, int):
            node = node.get("items")
        else:
            properties = node.get("properties")
            node = properties.get(segment) if isinstance(properties, Mapping) else None
    for _ in range(8):  # a label beside a $ref wins over the referenced schema's label
        label = node.get("x-label") if isinstance(node, Mapping) else None
        text = label.get(locale) if isinstance(label, Mapping) else None
        if isinstance(text, str) and text:
            return text
        target = _deref(schema, node, steps=1)
        if target is node:
            return None
        node = target
    return None


def _deref(root: Mapping[str, object], node: object, steps: int = 8) -> object:
    """``node`` with up to ``steps`` local ``$ref``s followed (cycles are refused by
    ``check_form_schema``, the bound protects against unchecked schemas)."""
    for _ in range(steps):
        ref = node.get("$ref") if isinstance(node, Mapping) else None
        match = _REF.fullmatch(ref) if isinstance(ref, str) else None
        segments = parse_pointer(match.group(1) or "") if match else None
        if segments is None:
            return node
        node = resolve(root, segments)
    return node
