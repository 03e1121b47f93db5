"""A form schema seen through GeoReport v2: the standard request fields it declares and its
other top-level fields as Open311 attributes (``datatype`` per field), and the conversion of an
Open311 request's values back into form data. Pure: no I/O.

Mapping of a top-level form property to a ``datatype``: an ``enum`` (or a boolean) ->
``singlevaluelist``; an array of an ``enum`` -> ``multivaluelist``; ``number``/``integer`` ->
``number``; a string with ``format`` ``date``/``date-time`` -> ``datetime``; a string of at most
:data:`SHORT_TEXT` characters -> ``string``, a longer one -> ``text``. Objects and other shapes
cannot be expressed in Open311: they are not offered as attributes (a form that requires one
refuses Open311 reports with 400 naming the field).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from case_service.open311.errors import AttributeInvalid

__all__ = [
    "CONTACT_FIELDS",
    "SHORT_TEXT",
    "STANDARD_FIELDS",
    "Attribute",
    "Datatype",
    "attribute_value",
    "attributes_of",
]

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]

#: GeoReport v2 request fields a form may declare under the same name; never attributes.
STANDARD_FIELDS: Final = ("description", "lat", "long", "address_string", "email", "first_name",
                          "last_name", "phone", "media_url")
#: The personal data among them: kept in the case's data only, never shown by GET requests.
CONTACT_FIELDS: Final = frozenset({"email", "first_name", "last_name", "phone"})
SHORT_TEXT: Final = 255


@dataclass(frozen=True, slots=True)
class Attribute:
    """One Open311 attribute of a service: a top-level form field beyond the standard ones."""

    code: str
    datatype: Datatype
    required: bool
    order: int
    description: str
    datatype_description: str | None
    values: tuple[tuple[str, str], ...]
    """``(key, name)`` of a list datatype, else empty."""
    integer: bool = False


def _mapping(value: object) -> Mapping[str, object]:
    return value if isinstance(value, Mapping) else {}


def _localized(value: object, locale: str) -> str | None:
    text = _mapping(value).get(locale)
    return text if isinstance(text, str) else None


def _values(enum: Sequence[object], labels: object, locale: str) -> tuple[tuple[str, str], ...]:
    names = _mapping(labels)
    result = []
    for item in enum:
        if isinstance(item, (str, int, float, bool)) and not isinstance(item, bool):
            key = str(item)
            result.append((key, _localized(names.get(key), locale) or key))
    return tuple(result)


def _datatype(prop: Mapping[str, object], locale: str) -> tuple[Datatype, tuple[tuple[str, str],
                                                                      ...]] | None:
    labels = prop.get("x-enum-labels")
    enum = prop.get("enum")
    if isinstance(enum, list):
        return "singlevaluelist", _values(enum, labels, locale)
    kind = prop.get("type")
    if kind == "boolean":
        return "singlevaluelist", (("true", "true"), ("false", "false"))
    if kind == "array":
        items = _mapping(prop.get("items"))
        item_enum = items.get("enum")
        if isinstance(item_enum, list):
            return "multivaluelist", _values(item_enum, items.get("x-enum-labels"), locale)
        return None
    if kind in ("number", "integer"):
        return "number", ()
    if kind == "string":
        if prop.get("format") in ("date", "date-time"):
            return "datetime", ()
        limit = prop.get("maxLength")
        short = isinstance(limit, int) and limit <= SHORT_TEXT
        return ("string" if short else "text"), ()
    return None


def attributes_of(schema: Mapping[str, object], locale: str) -> list[Attribute]:
    """The Open311 attributes of the form ``schema`` in ``x-order`` (then declaration order),
    ``order`` counting from 1, labels in ``locale``."""
    properties = _mapping(schema.get("properties"))
    order_hint = schema.get("x-order")
    names = [n for n in order_hint if isinstance(n, str) and n in properties] \
        if isinstance(order_hint, list) else []
    names += [n for n in properties if n not in names]
    required = schema.get("required")
    required_names = {r for r in required if isinstance(r, str)} \
        if isinstance(required, list) else set()
    result: list[Attribute] = []
    for name in names:
        if name in STANDARD_FIELDS:
            continue
        prop = _mapping(properties[name])
        shape = _datatype(prop, locale)
        if shape is None:
            continue
        datatype, values = shape
        result.append(Attribute(
            code=name, datatype=datatype, required=name in required_names,
            order=len(result) + 1,
            description=_localized(prop.get("x-label"), locale) or name,
            datatype_description=_localized(prop.get("x-help"), locale),
            values=values,
            integer=prop.get("type") == "integer" or (
                prop.get("type") == "array" and _mapping(prop.get("items")).get("type")
                == "integer"),
        ))
    return result


def _number(code: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise AttributeInvalid(f"The attribute '{code}' must be a number.") from None
    if not math.isfinite(value):
        raise AttributeInvalid(f"The attribute '{code}' must be a finite number.")
    return value


def _scalar(attribute: Attribute, raw: str, schema_enum: Sequence[object] | None) -> object:
    if attribute.datatype == "number":
        value = _number(attribute.code, raw)
        return int(value) if attribute.integer and value.is_integer() else value
    if attribute.values == (("true", "true"), ("false", "false")):
        if raw not in ("true", "false"):
            raise AttributeInvalid(f"The attribute '{attribute.code}' must be true or false.")
        return raw == "true"
    if schema_enum is not None:
        # Keys are strings on the wire; give the form the enum member they stand for.
        for member in schema_enum:
            if str(member) == raw and not isinstance(member, bool):
                return member
    return raw


def attribute_value(attribute: Attribute, raw: Sequence[str],
                    prop: Mapping[str, object]) -> object:
    """The form value of ``attribute`` from its submitted strings ``raw`` (several only for a
    ``multivaluelist``). List keys outside ``values`` pass through: the form rejects them.

    :raises AttributeInvalid: (400) several values for a single-valued attribute, a number
        that is none.
    """
    if attribute.datatype == "multivaluelist":
        items = _mapping(prop.get("items")).get("enum")
        enum = items if isinstance(items, list) else None
        return [_scalar(attribute, r, enum) for r in raw]
    if len(raw) != 1:
        raise AttributeInvalid(f"The attribute '{attribute.code}' takes one value.")
    enum_value = prop.get("enum")
    return _scalar(attribute, raw[0], enum_value if isinstance(enum_value, list) else None)
