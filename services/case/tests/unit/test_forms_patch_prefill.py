"""Drafts saved piece by piece with RFC 7396 JSON Merge Patch, and new drafts prefilled from
verified identity attributes with their provenance."""

from __future__ import annotations

import copy

import pytest

from case_service.forms import Prefilled, VerifiedAttribute, merge_patch, prefill, validate_form
from case_service.forms.demo_forms import BUSINESS_REGISTRATION, DOG_TAX, ROAD_DAMAGE

# RFC 7396 appendix A (the cases whose target is an object).
RFC_7396_EXAMPLES: list[tuple[dict[str, object], dict[str, object], dict[str, object]]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ({"a": "foo"}, {"a": {"b": None, "c": 1}}, {"a": {"c": 1}}),
]


@pytest.mark.parametrize(("target", "patch", "expected"), RFC_7396_EXAMPLES)
def test_merge_patch_follows_rfc_7396(
    target: dict[str, object], patch: dict[str, object], expected: dict[str, object]
) -> None:
    before = (copy.deepcopy(target), copy.deepcopy(patch))
    assert merge_patch(target, patch) == expected
    assert (target, patch) == before


def test_a_draft_grows_by_patches_until_it_validates() -> None:
    draft: dict[str, object] = {}
    for patch in ({"damage_kind": "pothole", "lat": 52.5},
                  {"description": "Schlagloch", "long": 13.4},
                  {"lat": None, "long": None, "address_string": "Hauptstraße 12"}):
        draft = merge_patch(draft, patch)
        assert validate_form(ROAD_DAMAGE, draft, locale="de", partial=True) == []
    assert validate_form(ROAD_DAMAGE, draft, locale="de", partial=False) == []
    assert draft == {"damage_kind": "pothole", "description": "Schlagloch",
                     "address_string": "Hauptstraße 12"}


def test_a_deeply_nested_patch_does_not_exhaust_the_stack() -> None:
    patch: dict[str, object] = {"leaf": 1}
    for _ in range(50_000):
        patch = {"n": patch}
    merged = merge_patch({}, patch)
    assert validate_form(DOG_TAX, merged, locale="en", partial=True)[0].code == "too_deep"


_EID = "eid"


def _attribute(name: str, value: str, loa: str = "high", source: str = _EID) -> VerifiedAttribute:
    assert loa in ("basic", "substantial", "high")
    return VerifiedAttribute(name=name, value=value, loa=loa, source=source)  # type: ignore[arg-type]


def test_prefill_fills_the_marked_fields_and_records_provenance() -> None:
    attributes = [
        _attribute("given_name", "Erika"), _attribute("family_name", "Mustermann"),
        _attribute("email", "erika@example.org", "basic", "self_declared"),
        _attribute("postal_code", "10115", "substantial"),
        _attribute("nationality", "DE"),
    ]
    result = prefill(BUSINESS_REGISTRATION, attributes)
    assert result == Prefilled(
        data={"given_name": "Erika", "family_name": "Mustermann", "postal_code": "10115",
              "email": "erika@example.org"},
        verified={
            "/given_name": {"attribute": "given_name", "level": "high", "source": "eid"},
            "/family_name": {"attribute": "family_name", "level": "high", "source": "eid"},
            "/postal_code": {"attribute": "postal_code", "level": "substantial", "source": "eid"},
            "/email": {"attribute": "email", "level": "basic", "source": "self_declared"},
        },
    )
    assert validate_form(BUSINESS_REGISTRATION, result.data, locale="de", partial=True) == []


def test_prefill_prefers_the_higher_level_of_assurance() -> None:
    result = prefill(DOG_TAX, [
        _attribute("locality", "Bonn", "basic", "self_declared"),
        _attribute("locality", "Köln", "high"),
        _attribute("locality", "Berlin", "substantial"),
    ])
    assert result.data == {"locality": "Köln"}
    assert result.verified == {"/locality": {"attribute": "locality", "level": "high",
                                             "source": "eid"}}


def test_prefill_without_attributes_or_markers_is_empty() -> None:
    assert prefill(DOG_TAX, []) == Prefilled()
    assert prefill(ROAD_DAMAGE, [_attribute("given_name", "Erika")]) == Prefilled()
