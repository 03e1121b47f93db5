"""Admission checks of what the library and the parameters API save: LeiKa keys, attachment
specs, fee rules (syntax at library level, with a tenant's values at parameter level), revenue
shares and the departments that answer a process's parts. Pure; each raises a 422 with
pointers naming every finding."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Final

from pydantic import ValidationError

from case_service.catalogue.errors import (
    InvalidAttachments,
    InvalidFeeValues,
    InvalidLeikaKey,
    InvalidParameters,
)
from case_service.fees import (
    FEE_VALUES,
    MAX_AMOUNT,
    FeeRule,
    InvalidFeeRule,
    PerItemComponent,
    PerUnitComponent,
    check_rule,
)
from case_service.fees.expressions import value_references
from case_service.process.spec import ProcessSpec
from city_shared.errors import JsonValue
from city_shared.slugs import is_slug

__all__ = [
    "ALLOWED_MEDIA_TYPES",
    "LEIKA_PATTERN",
    "check_attachments",
    "check_fee_rule_syntax",
    "check_fee_values",
    "check_leika_key",
    "check_part_departments",
    "check_revenue_shares",
    "value_names",
]

LEIKA_PATTERN: Final = re.compile(r"^urn:de:fim:leika:leistung:[0-9]{14}$")
#: What an attachment may be: documents and photos every caseworker's desktop opens.
ALLOWED_MEDIA_TYPES: Final = frozenset({
    "application/pdf", "image/jpeg", "image/png", "image/tiff", "image/heic", "image/webp"})


def check_leika_key(key: str) -> None:
    """:raises InvalidLeikaKey: (422) ``key`` is no ``urn:de:fim:leika:leistung:<14 digits>``."""
    if LEIKA_PATTERN.fullmatch(key) is None:
        raise InvalidLeikaKey("The LeiKa key must look like "
                              "urn:de:fim:leika:leistung:99050012104000.",
                              [{"pointer": "/leika_key", "code": "pattern"}])


def check_attachments(specs: Sequence[Mapping[str, object]], *, max_bytes: int) -> None:
    """:raises InvalidAttachments: (422) a kind twice, a media type not allowed, a size limit
    above ``max_bytes`` (the service-wide limit)."""
    errors: list[Mapping[str, JsonValue]] = []
    seen: set[object] = set()
    for i, spec in enumerate(specs):
        if spec["kind"] in seen:
            errors.append({"pointer": f"/attachments/{i}/kind", "code": "duplicate",
                           "message": "Each kind appears once."})
        seen.add(spec["kind"])
        types = spec["media_types"]
        assert isinstance(types, list)
        for j, media_type in enumerate(types):
            if media_type not in ALLOWED_MEDIA_TYPES:
                errors.append({"pointer": f"/attachments/{i}/media_types/{j}",
                               "code": "media_type_not_allowed",
                               "message": "Allowed: " + ", ".join(sorted(ALLOWED_MEDIA_TYPES))})
        limit = spec["max_bytes"]
        if not isinstance(limit, int) or limit > max_bytes:
            errors.append({"pointer": f"/attachments/{i}/max_bytes", "code": "maximum",
                           "message": f"At most {max_bytes} bytes."})
    if errors:
        raise InvalidAttachments("The attachment specification has errors; see 'errors'.",
                                 errors)


def _expressions(rule: FeeRule) -> Iterator[str]:
    for component in rule.components:
        yield component.when or "true"
        if isinstance(component, PerItemComponent):
            yield component.items
            for tier in component.tiers:
                yield tier.amount
                yield tier.when or "true"
        else:
            yield component.amount
            if isinstance(component, PerUnitComponent):
                yield component.quantity
    for exemption in rule.exemptions:
        yield exemption.when


def value_names(rule: FeeRule) -> set[str]:
    """The ``values.<name>`` the rule reads (found by name; see ``value_references``)."""
    names: set[str] = set()
    for expression in _expressions(rule):
        names |= value_references(expression)[0]
    return names


def check_fee_rule_syntax(rule: FeeRule) -> None:
    """Check ``rule`` as the library sees it: the values it names are set per tenant later,
    so each is taken as set (0); syntax, variables and limits are checked.

    :raises InvalidFeeRule: (422 ``invalid_fee_rule``) with pointers into the rule.
    """
    check_rule(rule, dict.fromkeys(value_names(rule), 0))


def check_fee_values(rule: FeeRule, values: Mapping[str, object]) -> None:
    """Check a tenant's ``values`` against the service's ``rule``.

    :raises InvalidFeeValues: (422 ``invalid_fee_values``) a value the rule reads is missing
        or the values are malformed; ``errors`` point into ``/fee_values`` or the rule.
    """
    try:
        checked = FEE_VALUES.validate_python(values)
    except ValidationError as exc:
        # One finding per value; pydantic reports each member of the value union separately.
        names = dict.fromkeys(str(e["loc"][0]) for e in exc.errors(include_input=False)
                              if e["loc"])
        errors: list[Mapping[str, JsonValue]] = [
            {"pointer": "/fee_values/" + name.replace("~", "~0").replace("/", "~1"),
             "code": "invalid_value",
             "message": f"An amount in cents (0 to {MAX_AMOUNT}), a text of up to 200 "
                        "characters, or a list of such texts."} for name in names]
        if not errors:
            errors = [{"pointer": "/fee_values", "code": "invalid_value",
                       "message": "At most 100 values with names like first_dog."}]
        raise InvalidFeeValues("The fee values have errors; see 'errors'.", errors) from None
    missing = sorted(value_names(rule) - checked.keys())
    if missing:
        raise InvalidFeeValues("The service's fee rule needs values that are not set.",
                               [{"pointer": f"/fee_values/{name}", "code": "required",
                                 "message": "The fee rule reads this value."}
                                for name in missing])
    try:
        check_rule(rule, checked)
    except InvalidFeeRule as exc:
        raise InvalidFeeValues("The fee values do not fit the service's fee rule.",
                               [{"pointer": "/fee_rule" + e.pointer, "code": "fee_rule",
                                 "message": e.detail} for e in exc.errors]) from None


def check_revenue_shares(shares: Sequence[Mapping[str, object]]) -> None:
    """Percentages of all shares together at most 100. (Fixed amounts are booked up to what
    is left of each fee, so they cannot exceed it.)

    :raises InvalidParameters: (422) the percentages exceed 100.
    """
    total = sum(int(str(s.get("percent") or 0)) for s in shares)
    if total > 100:
        raise InvalidParameters("Revenue shares add up to more than 100 percent.",
                                [{"pointer": "/revenue_shares", "code": "maximum",
                                  "message": "The percentages add up to at most 100."}])


def check_part_departments(part_departments: Mapping[str, object], process: ProcessSpec) -> None:
    """Each key names a part of ``process`` (the service's current definition's), each value
    is a department slug.

    :raises InvalidParameters: (422) one error per key that is no part (``unknown_part``) and
        per value that is no slug (``pattern``), pointing into ``/part_departments``.
    """
    parts = {part.key for state in process.states.values() for part in state.parts}
    errors: list[Mapping[str, JsonValue]] = []
    for key, department in part_departments.items():
        pointer = "/part_departments/" + key.replace("~", "~0").replace("/", "~1")
        if key not in parts:
            errors.append({"pointer": pointer, "code": "unknown_part",
                           "message": "The service's process has no part of this key; parts: "
                                      + (", ".join(sorted(parts)) or "none") + "."})
        elif not is_slug(department):
            errors.append({"pointer": pointer, "code": "pattern",
                           "message": "A department slug (lower-case letters, digits, "
                                      "hyphens)."})
    if errors:
        raise InvalidParameters("The part departments have errors; see 'errors'.", errors)
