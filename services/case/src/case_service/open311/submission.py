"""A GeoReport v2 ``POST requests.json`` body (form fields) read into a :class:`ReportForm`,
and the form data of the case it becomes. Pure: no I/O.

Rules: ``service_code`` is required; a location is required (``lat`` and ``long`` together, or
``address_string``); coordinates must be finite and in range. ``attribute[code]`` (or
``attribute[code][]`` for a multivaluelist) must name an attribute of the service. A standard
field (description, location, contact, media_url) goes into the case's data only if the
service's form declares a field of that name: a form that asks for no contact data gets none.
No value may contain NUL. ``jurisdiction_id``, ``api_key``, ``device_id``, ``account_id`` and
``address_id`` are accepted and ignored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from case_service.open311.attributes import STANDARD_FIELDS, attribute_value, attributes_of
from case_service.open311.errors import AttributeInvalid, InvalidParameter, LocationRequired

__all__ = ["MAX_VALUE_CHARS", "ReportForm", "form_data", "read_form"]

#: No single submitted value may be longer (the forms limit each field far below this).
MAX_VALUE_CHARS: Final = 10_000
_ATTRIBUTE = re.compile(r"attribute\[([^\[\]]{1,100})\](\[\])?")


@dataclass(frozen=True)
class ReportForm:
    """The parsed fields of one report (values as submitted, coordinates as numbers)."""

    service_code: str
    lat: float | None
    long: float | None
    standard: dict[str, str]
    """Standard text fields given (``description``, ``address_string``, contact, ``media_url``)."""
    attributes: dict[str, list[str]] = field(default_factory=dict)


def _coordinate(name: str, raw: str | None, bound: float) -> float | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidParameter(f"'{name}' must be a decimal number.") from None
    if not math.isfinite(value) or abs(value) > bound:
        raise InvalidParameter(f"'{name}' must be between -{bound:g} and {bound:g}.")
    return value


def read_form(items: Iterable[tuple[str, str]]) -> ReportForm:
    """The report in the text fields ``items`` (name, value; repeated names allowed).

    :raises InvalidParameter: (400) a value with NUL or too long, a bad coordinate, a missing
        ``service_code``.
    :raises LocationRequired: (400) neither a full coordinate pair nor ``address_string``.
    """
    single: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    for name, value in items:
        if "\x00" in value or "\x00" in name:
            raise InvalidParameter("A value contains a character that cannot be stored (NUL).")
        if len(value) > MAX_VALUE_CHARS:
            raise InvalidParameter(f"A value is longer than {MAX_VALUE_CHARS} characters.")
        match = _ATTRIBUTE.fullmatch(name)
        if match is not None:
            attributes.setdefault(match.group(1), []).append(value)
        elif name not in single:
            single[name] = value
    service_code = single.get("service_code", "").strip()
    if not service_code:
        raise InvalidParameter("'service_code' is required.")
    lat = _coordinate("lat", single.get("lat"), 90)
    long = _coordinate("long", single.get("long"), 180)
    if (lat is None) != (long is None):
        raise InvalidParameter("'lat' and 'long' go together.")
    standard = {name: single[name].strip() for name in STANDARD_FIELDS
                if name not in ("lat", "long") and single.get(name, "").strip()}
    if lat is None and "address_string" not in standard:
        raise LocationRequired()
    return ReportForm(service_code=service_code, lat=lat, long=long, standard=standard,
                      attributes=attributes)


def form_data(report: ReportForm, schema: Mapping[str, object],
              locale: str) -> dict[str, object]:
    """The case's form data of ``report`` under the service's form ``schema`` (validation of the
    result is the case's: ``open_case`` checks it fully).

    :raises AttributeInvalid: (400) an attribute the service does not have, or a value that
        cannot be one (see :func:`~case_service.open311.attributes.attribute_value`).
    """
    properties = schema.get("properties")
    declared: Mapping[str, object] = properties if isinstance(properties, Mapping) else {}
    by_code = {attribute.code: attribute for attribute in attributes_of(schema, locale)}
    data: dict[str, object] = {}
    for name, value in report.standard.items():
        if name in declared:
            data[name] = value
    if report.lat is not None and "lat" in declared and "long" in declared:
        data["lat"], data["long"] = report.lat, report.long
    for code, raw in report.attributes.items():
        attribute = by_code.get(code)
        if attribute is None:
            raise AttributeInvalid("An attribute[...] names no attribute of this service.")
        prop = declared.get(code)
        data[code] = attribute_value(attribute, raw,
                                     prop if isinstance(prop, Mapping) else {})
    return data
