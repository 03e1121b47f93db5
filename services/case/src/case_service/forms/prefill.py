"""Prefilling a new draft from the citizen's verified identity attributes, remembering which
fields were filled from which attribute, level of assurance and source."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from ._json import pointer

__all__ = ["LevelOfAssurance", "Prefilled", "VerifiedAttribute", "prefill"]

LevelOfAssurance: TypeAlias = Literal["basic", "substantial", "high"]
_RANK: Mapping[str, int] = {"basic": 0, "substantial": 1, "high": 2}


@dataclass(frozen=True, slots=True)
class VerifiedAttribute:
    """An identity attribute (``given_name``, ``birth_date``...) as verified by ``source``
    (e.g. ``"eid"``) at level of assurance ``loa``."""

    name: str
    value: str
    loa: LevelOfAssurance
    source: str


@dataclass(frozen=True, slots=True)
class Prefilled:
    """Draft ``data`` and, per JSON pointer of a prefilled field, its provenance
    ``{"attribute", "level", "source"}``."""

    data: dict[str, object] = field(default_factory=dict)
    verified: dict[str, dict[str, str]] = field(default_factory=dict)


def prefill(schema: Mapping[str, object], attributes: Sequence[VerifiedAttribute]) -> Prefilled:
    """Fill each top-level property carrying ``x-prefill`` with the attribute of that name.

    When an attribute is present more than once, the one with the highest level of assurance
    wins (the first among equals). Properties whose attribute is absent stay out of ``data``.
    The values are not validated here: the draft's validation reports a mismatch like any other.
    """
    best: dict[str, VerifiedAttribute] = {}
    for attribute in attributes:
        current = best.get(attribute.name)
        if current is None or _RANK[attribute.loa] > _RANK[current.loa]:
            best[attribute.name] = attribute
    result = Prefilled()
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return result
    for name, prop in properties.items():
        wanted = prop.get("x-prefill") if isinstance(prop, Mapping) else None
        chosen = best.get(wanted) if isinstance(wanted, str) else None
        if chosen is None:
            continue
        result.data[name] = chosen.value
        result.verified[pointer((name,))] = {
            "attribute": chosen.name, "level": chosen.loa, "source": chosen.source,
        }
    return result
