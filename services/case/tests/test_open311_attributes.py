"""Form fields as Open311 attributes (every datatype) and Open311 values back into form data:
pure, no database."""

from __future__ import annotations

from typing import Any

import pytest

from case_service.forms import validate_form
from case_service.forms.demo_forms import ROAD_DAMAGE
from case_service.open311.attributes import attributes_of
from case_service.open311.errors import AttributeInvalid, InvalidParameter, LocationRequired
from case_service.open311.submission import form_data, read_form

SCHEMA: dict[str, Any] = {
    "type": "object", "x-order": ["kind", "count", "seen_on", "note", "details", "lamps",
                                  "urgent", "where", "description", "email"],
    "required": ["kind", "count"],
    "properties": {
        "where": {"type": "object", "properties": {}},
        "kind": {"enum": ["pothole", "sign"], "x-label": {"de": "Art", "en": "Kind"},
                 "x-enum-labels": {"pothole": {"en": "Pothole"}}},
        "count": {"type": "integer", "minimum": 1, "x-help": {"en": "How many"}},
        "seen_on": {"type": "string", "format": "date"},
        "note": {"type": "string", "maxLength": 100},
        "details": {"type": "string", "maxLength": 4000},
        "lamps": {"type": "array", "items": {"enum": ["a", "b"]}},
        "urgent": {"type": "boolean"},
        "description": {"type": "string"},
        "email": {"type": "string"},
    },
}


def test_every_datatype_and_the_standard_fields_left_out() -> None:
    attributes = {a.code: a for a in attributes_of(SCHEMA, "en")}
    assert list(attributes) == ["kind", "count", "seen_on", "note", "details", "lamps", "urgent"]
    assert {code: a.datatype for code, a in attributes.items()} == {
        "kind": "singlevaluelist", "count": "number", "seen_on": "datetime", "note": "string",
        "details": "text", "lamps": "multivaluelist", "urgent": "singlevaluelist"}
    assert [a.order for a in attributes.values()] == list(range(1, 8))
    assert attributes["kind"].values == (("pothole", "Pothole"), ("sign", "sign"))
    assert attributes["kind"].description == "Kind"
    assert attributes["count"].datatype_description == "How many"
    assert (attributes["kind"].required, attributes["note"].required) == (True, False)


def test_values_become_form_data_of_the_right_types() -> None:
    report = read_form([("service_code", "x"), ("address_string", "Markt 1"),
                        ("attribute[kind]", "sign"), ("attribute[count]", "3"),
                        ("attribute[lamps][]", "a"), ("attribute[lamps][]", "b"),
                        ("attribute[urgent]", "true"), ("email", "e@example.org"),
                        ("phone", "0301234")])
    assert form_data(report, SCHEMA, "de") == {
        "kind": "sign", "count": 3, "lamps": ["a", "b"], "urgent": True,
        "email": "e@example.org"}  # the form declares email but not phone or address_string


@pytest.mark.parametrize(("items", "error"), [
    ([("service_code", "x")], LocationRequired),
    ([("lat", "1"), ("long", "2")], InvalidParameter),
    ([("service_code", "x"), ("lat", "1")], InvalidParameter),
    ([("service_code", "x"), ("lat", "inf"), ("long", "2")], InvalidParameter),
    ([("service_code", "x"), ("address_string", "a\x00b")], InvalidParameter),
    ([("service_code", "x"), ("address_string", "a" * 10_001)], InvalidParameter),
])
def test_unusable_reports_are_refused(items: list[tuple[str, str]],
                                      error: type[Exception]) -> None:
    with pytest.raises(error):
        read_form(items)


@pytest.mark.parametrize("attribute", [("attribute[count]", "many"),
                                       ("attribute[count]", "1e400"),
                                       ("attribute[urgent]", "yes"),
                                       ("attribute[kind]", "sign"),
                                       ("attribute[where]", "x")])
def test_unusable_attributes_are_refused(attribute: tuple[str, str]) -> None:
    items = [("service_code", "x"), ("lat", "1"), ("long", "2"), attribute]
    if attribute[0] == "attribute[kind]":
        items.append(("attribute[kind]", "pothole"))  # a singlevaluelist takes one value
    with pytest.raises(AttributeInvalid):
        form_data(read_form(items), SCHEMA, "de")


def test_a_road_damage_report_is_valid_road_damage_form_data() -> None:
    report = read_form([("service_code", "strassenschaden"), ("lat", "50.1"), ("long", "8.6"),
                        ("description", "Ein tiefes Schlagloch."),
                        ("attribute[damage_kind]", "pothole")])
    data = form_data(report, ROAD_DAMAGE, "de")
    assert validate_form(ROAD_DAMAGE, data, locale="de", partial=False) == []
