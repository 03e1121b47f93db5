"""Form definitions: the admission check a library admin's JSON Schema must pass, and the
field list the public catalogue shows. Validation of citizen data is in ``validation``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from city_shared.errors import DomainError

from ._engine import compile_pattern, metaschema_validator
from ._json import Path, inspect, parse_pointer, pointer, resolve
from .messages import LOCALES, Locale

__all__ = [
    "DRAFT_2020_12",
    "MAX_SCHEMA_BYTES",
    "MAX_SCHEMA_DEPTH",
    "PREFILL_ATTRIBUTES",
    "FormField",
    "InvalidFormSchema",
    "check_form_schema",
    "form_fields",
]

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
MAX_SCHEMA_BYTES = 64 * 1024
MAX_SCHEMA_DEPTH = 12
#: The verified identity attributes an ``x-prefill`` may name.
PREFILL_ATTRIBUTES = frozenset({
    "given_name", "family_name", "birth_date", "street_address", "postal_code", "locality",
    "email",
})
_MAX_DETAIL = 300
_REF_KEYWORDS = ("$ref", "$dynamicRef")
_ANCHOR_KEYWORDS = ("$anchor", "$dynamicAnchor")
_LOCAL_POINTER_REF = re.compile(r"#(/.*)?")
_ANCHOR_REF = re.compile(r"#([A-Za-z_][-A-Za-z0-9._]*)")
# Keywords whose value is a subschema / a list of them / a map of them (JSON Schema 2020-12).
_ONE = ("additionalProperties", "propertyNames", "items", "contains", "not", "if", "then",
        "else", "unevaluatedItems", "unevaluatedProperties", "contentSchema")
_LIST = ("allOf", "anyOf", "oneOf", "prefixItems")
_MAP = ("properties", "patternProperties", "$defs", "dependentSchemas")


class InvalidFormSchema(DomainError):
    """422: a form definition is refused; ``errors`` lists ``{pointer, detail}`` with the
    pointer into the definition."""

    status = 422
    code = "invalid_form_schema"
    title = "Invalid form definition"

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__(
            "The form definition cannot be used.",
            extra={"errors": [{"pointer": p, "detail": d} for p, d in errors]},
        )
        self.errors = errors


@dataclass(frozen=True, slots=True)
class FormField:
    """A top-level field as the catalogue shows it: ``label`` and ``help`` in one locale,
    ``prefill`` the identity attribute that fills it (or None)."""

    name: str
    label: str
    help: str | None
    required: bool
    prefill: str | None


def check_form_schema(schema: Mapping[str, object]) -> None:
    """Admit ``schema`` as a form definition or raise :class:`InvalidFormSchema` naming
    every problem found.

    Admitted: at most :data:`MAX_SCHEMA_BYTES` serialized and :data:`MAX_SCHEMA_DEPTH` deep;
    valid against the 2020-12 metaschema, ``$schema`` absent or 2020-12; root ``type:
    "object"`` with ``properties``; only local, resolvable, acyclic ``$ref``/``$dynamicRef``
    (nothing is ever retrieved), no embedded ``$id``; patterns that compile; ``x-order``
    naming existing properties once; ``x-label`` (de and en) on every top-level property,
    ``x-help`` likewise shaped, ``x-prefill`` only on top-level properties and only naming
    :data:`PREFILL_ATTRIBUTES`. Pure; no network access.
    """
    if not isinstance(schema, Mapping):
        raise InvalidFormSchema([("", "A form definition must be a JSON object.")])
    try:
        encoded = json.dumps(schema, ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError):
        raise InvalidFormSchema([("", "The form definition is not JSON.")]) from None
    if len(encoded) > MAX_SCHEMA_BYTES:
        raise InvalidFormSchema([("", f"The form definition exceeds {MAX_SCHEMA_BYTES} bytes.")])
    for violation in inspect(schema, max_depth=MAX_SCHEMA_DEPTH, max_bytes=MAX_SCHEMA_BYTES,
                             check_numbers=False):
        if violation.code == "too_deep":
            raise InvalidFormSchema([(pointer(violation.path),
                                      f"Nesting is deeper than {MAX_SCHEMA_DEPTH} levels.")])
    errors = [
        (pointer(e.absolute_path), _short(e.message))
        for e in metaschema_validator().iter_errors(schema)
    ]
    if "$schema" in schema and schema["$schema"] != DRAFT_2020_12:
        errors.append(("/$schema", f"Only JSON Schema 2020-12 ({DRAFT_2020_12}) is supported."))
    if not errors:
        # The remaining checks read the structure the metaschema has vouched for.
        errors.extend(_root_errors(schema))
        errors.extend(_reference_errors(schema))
        errors.extend(_pattern_errors(schema))
        errors.extend(_extension_errors(schema))
    if errors:
        raise InvalidFormSchema(sorted(set(errors)))


def form_fields(schema: Mapping[str, object], locale: Locale) -> list[FormField]:
    """The top-level fields of a checked form, in ``x-order`` (unlisted fields follow in
    declaration order), labelled in ``locale``."""
    properties = _mapping(schema.get("properties"))
    order = [n for n in _strings(schema.get("x-order")) if n in properties]
    order += [n for n in properties if n not in order]
    required = set(_strings(schema.get("required")))
    fields = []
    for name in order:
        prop = _mapping(properties[name])
        help_text = _mapping(prop.get("x-help")).get(locale)
        prefill = prop.get("x-prefill")
        fields.append(FormField(
            name=name,
            label=str(_mapping(prop.get("x-label")).get(locale, name)),
            help=help_text if isinstance(help_text, str) else None,
            required=name in required,
            prefill=prefill if isinstance(prefill, str) else None,
        ))
    return fields


def _mapping(value: object) -> Mapping[str, object]:
    return value if isinstance(value, Mapping) else {}


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _short(text: str) -> str:
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def _root_errors(schema: Mapping[str, object]) -> Iterator[tuple[str, str]]:
    if schema.get("type") != "object":
        yield "/type", 'The root of a form must be "type": "object".'
    if not isinstance(schema.get("properties"), Mapping) or not schema.get("properties"):
        yield "/properties", "The root of a form must declare its fields in properties."


def subschemas(schema: object, path: Path = ()) -> Iterator[tuple[Path, Mapping[str, object]]]:
    """Every object subschema of ``schema`` reachable through applicator keywords, with its
    path in the definition (boolean subschemas have nothing to check)."""
    stack: list[tuple[Path, object]] = [(path, schema)]
    while stack:
        here, node = stack.pop()
        if not isinstance(node, Mapping):
            continue
        yield here, node
        for key in _ONE:
            if key in node:
                stack.append(((*here, key), node[key]))
        for key in _LIST:
            if isinstance(node.get(key), list):
                stack.extend(((*here, key, i), s) for i, s in enumerate(node[key]))
        for key in _MAP:
            if isinstance(node.get(key), Mapping):
                stack.extend(((*here, key, name), s) for name, s in node[key].items())


def _all_objects(document: object) -> Iterator[tuple[Path, Mapping[str, object]]]:
    """Every JSON object anywhere in ``document``: references are searched everywhere, even
    inside unknown keywords, so none can slip past the check."""
    stack: list[tuple[Path, object]] = [((), document)]
    while stack:
        here, node = stack.pop()
        if isinstance(node, Mapping):
            yield here, node
            stack.extend(((*here, str(k)), v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend(((*here, str(i)), v) for i, v in enumerate(node))


def _reference_errors(schema: Mapping[str, object]) -> Iterator[tuple[str, str]]:
    anchors: dict[str, Path] = {}
    references: list[tuple[Path, str, str]] = []
    for here, node in _all_objects(schema):
        if here and isinstance(node.get("$id"), str):
            yield pointer((*here, "$id")), "Embedded $id is not supported in a form."
        for keyword in _ANCHOR_KEYWORDS:
            if isinstance(node.get(keyword), str):
                anchors[str(node[keyword])] = here
        references.extend(
            (here, keyword, str(node[keyword]))
            for keyword in _REF_KEYWORDS if isinstance(node.get(keyword), str)
        )
    edges: dict[Path, Path] = {}
    for here, keyword, ref in references:
        at = pointer((*here, keyword))
        target = _target(schema, ref, anchors)
        if target is None:
            yield at, "Only references inside the form (#/... or #anchor) that resolve are allowed."
        else:
            edges[here] = target
    for here in _cyclic(edges):
        yield pointer(here), "References must not form a cycle."


def _target(schema: Mapping[str, object], ref: str, anchors: dict[str, Path]) -> Path | None:
    if (match := _ANCHOR_REF.fullmatch(ref)) is not None:
        return anchors.get(match.group(1))
    if (match := _LOCAL_POINTER_REF.fullmatch(ref)) is None:
        return None
    segments = parse_pointer(match.group(1) or "")
    if segments is None or resolve(schema, segments) is None:
        return None
    return tuple(segments)


def _cyclic(edges: Mapping[Path, Path]) -> list[Path]:
    """The reference locations from which expansion can come back to themselves.

    Expanding the reference at ``L`` (target ``T``) expands every reference located inside
    ``T``; a cycle in that relation may never end. Conservative: recursion that data would
    bound is refused too, and forms do not need it.
    """
    following = {
        here: [other for other in edges if other[: len(target)] == target]
        for here, target in edges.items()
    }
    cyclic = []
    for start in edges:
        seen: set[Path] = set()
        frontier = list(following[start])
        while frontier:
            node = frontier.pop()
            if node == start:
                cyclic.append(start)
                break
            if node not in seen:
                seen.add(node)
                frontier.extend(following[node])
    return cyclic


def _pattern_errors(schema: Mapping[str, object]) -> Iterator[tuple[str, str]]:
    for here, node in subschemas(schema):
        candidates = [((*here, "pattern"), node.get("pattern"))]
        patterns = node.get("patternProperties")
        if isinstance(patterns, Mapping):
            candidates += [((*here, "patternProperties", p), p) for p in patterns]
        for at, pattern in candidates:
            if not isinstance(pattern, str):
                continue
            try:
                compile_pattern(pattern)
            except re.error:
                yield pointer(at), "The pattern is not a valid regular expression."


def _texts_error(value: object) -> str | None:
    if not isinstance(value, Mapping) or set(value) != set(LOCALES):
        return f"Must be an object with exactly the languages {', '.join(LOCALES)}."
    if not all(isinstance(v, str) and v.strip() for v in value.values()):
        return "Every language needs a non-empty text."
    return None


def _extension_errors(schema: Mapping[str, object]) -> Iterator[tuple[str, str]]:
    properties = _mapping(schema.get("properties"))
    order = schema.get("x-order")
    if order is not None:
        if not isinstance(order, list) or not all(isinstance(n, str) for n in order):
            yield "/x-order", "x-order must be a list of property names."
        else:
            for i, name in enumerate(order):
                if name not in properties:
                    yield f"/x-order/{i}", "x-order names a property the form does not have."
                elif order.index(name) != i:
                    yield f"/x-order/{i}", "x-order names a property twice."
    for name, prop in properties.items():
        if isinstance(prop, Mapping) and "x-label" not in prop:
            yield pointer(("properties", name)), "Every field needs an x-label (de and en)."
    for here, node in subschemas(schema):
        top_level = len(here) == 2 and here[0] == "properties"
        for keyword in ("x-label", "x-help"):
            if keyword in node and (problem := _texts_error(node[keyword])) is not None:
                yield pointer((*here, keyword)), problem
        if "x-prefill" in node:
            at = pointer((*here, "x-prefill"))
            if not top_level:
                yield at, "x-prefill is only honoured on top-level properties."
            elif node["x-prefill"] not in PREFILL_ATTRIBUTES:
                yield at, f"x-prefill must be one of {', '.join(sorted(PREFILL_ATTRIBUTES))}."
