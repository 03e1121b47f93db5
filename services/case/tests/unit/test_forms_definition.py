"""Admission of form definitions: the five demo forms pass, and each kind of unusable or
unsafe definition is refused with a pointer into it; the catalogue's field list."""

from __future__ import annotations

import copy
import urllib.request
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from referencing.exceptions import Unresolvable

from case_service.forms import (
    FormField,
    InvalidFormSchema,
    check_form_schema,
    form_fields,
    validate_form,
)
from case_service.forms.demo_forms import ALL_DEMO_FORMS, DOG_TAX, PARKING_PERMIT


def _label(name: str) -> dict[str, str]:
    return {"de": f"{name} (de)", "en": f"{name} (en)"}


def _form(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {
        name: {"x-label": _label(name), **schema} for name, schema in properties.items()}}


def _refusals(schema: Any) -> list[dict[str, str]]:
    with pytest.raises(InvalidFormSchema) as raised:
        check_form_schema(schema)
    errors = raised.value.extra["errors"]
    assert isinstance(errors, list)
    return errors


def _pointers(schema: Any) -> list[str]:
    return [e["pointer"] for e in _refusals(schema)]


@pytest.mark.parametrize("name", sorted(ALL_DEMO_FORMS))
def test_every_demo_form_is_admitted(name: str) -> None:
    check_form_schema(ALL_DEMO_FORMS[name])


def test_a_minimal_form_with_local_refs_is_admitted() -> None:
    schema = _form(home={"$ref": "#/$defs/address"}, work={"$ref": "#addr"})
    schema["$defs"] = {"address": {"$anchor": "addr", "type": "string"}}
    check_form_schema(schema)
    assert [e.code for e in validate_form(schema, {"home": 1, "work": "x"}, locale="en",
                                          partial=False)] == ["type"]


def test_the_refusal_is_a_422_problem_with_a_stable_code() -> None:
    with pytest.raises(InvalidFormSchema) as raised:
        check_form_schema({"type": "array"})
    problem = raised.value.to_problem()
    assert (problem["status"], problem["code"]) == (422, "invalid_form_schema")
    assert {"pointer": "/type", "detail": 'The root of a form must be "type": "object".'} in (
        problem["errors"])  # type: ignore[operator]


@pytest.mark.parametrize("ref", [
    "https://schemas.example.org/person.json",
    "person.json#/$defs/name",
    "//evil.example/x",
    "urn:uuid:deadbeef-1234-5678-9abc-def012345678",
])
def test_remote_and_relative_references_are_refused(ref: str) -> None:
    assert _pointers(_form(name={"$ref": ref})) == ["/properties/name/$ref"]
    assert _pointers(_form(name={"$dynamicRef": ref})) == ["/properties/name/$dynamicRef"]


def test_references_hidden_in_unknown_keywords_are_refused_too() -> None:
    schema = _form(name={"type": "string"})
    schema["x-vendor"] = {"nested": [{"$ref": "https://evil.example/s.json"}]}
    assert _pointers(schema) == ["/x-vendor/nested/0/$ref"]


def test_dangling_and_cyclic_local_references_are_refused() -> None:
    assert _pointers(_form(name={"$ref": "#/$defs/missing"})) == ["/properties/name/$ref"]
    assert _pointers(_form(name={"$ref": "#nowhere"})) == ["/properties/name/$ref"]
    assert _pointers(_form(name={"$ref": "#"})) == ["/properties/name"]
    loop = _form(name={"$ref": "#/$defs/a"})
    loop["$defs"] = {"a": {"allOf": [{"$ref": "#/$defs/b"}]}, "b": {"$ref": "#/$defs/a"}}
    # The references on the loop are named; the one merely leading into it is not.
    assert _pointers(loop) == ["/$defs/a/allOf/0", "/$defs/b"]


def test_an_embedded_id_is_refused() -> None:
    schema = _form(name={"$id": "https://example.org/name", "type": "string"})
    assert _pointers(schema) == ["/properties/name/$id"]


def test_validation_never_retrieves_a_remote_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    fetched: list[object] = []

    def record(request: object, *args: object, **kwargs: object) -> None:
        fetched.append(request)
        raise OSError("no network in tests")

    monkeypatch.setattr(urllib.request, "urlopen", record)
    unchecked = _form(name={"$ref": "https://schemas.example.org/person.json"})
    with pytest.raises(Unresolvable):
        validate_form(unchecked, {"name": "x"}, locale="en", partial=False)
    assert fetched == []
    # Negative control: jsonschema's default registry would have tried to fetch it.
    with pytest.raises(Unresolvable):
        list(Draft202012Validator(unchecked).iter_errors({"name": "x"}))
    assert len(fetched) == 1


def test_a_missing_or_half_label_is_refused() -> None:
    schema = _form(name={"type": "string"})
    del schema["properties"]["name"]["x-label"]
    assert _refusals(schema) == [{"pointer": "/properties/name",
                                  "detail": "Every field needs an x-label (de and en)."}]
    assert _pointers(_form(name={"x-label": {"de": "Name"}})) == ["/properties/name/x-label"]
    assert _pointers(_form(name={"x-label": {"de": "Name", "en": ""}})) == [
        "/properties/name/x-label"]
    assert _pointers(_form(name={"x-help": "Hilfe"})) == ["/properties/name/x-help"]


def test_a_bad_x_order_is_refused() -> None:
    schema = _form(a={}, b={})
    assert _pointers({**schema, "x-order": ["a", "c"]}) == ["/x-order/1"]
    assert _pointers({**schema, "x-order": ["a", "b", "a"]}) == ["/x-order/2"]
    assert _pointers({**schema, "x-order": "a,b"}) == ["/x-order"]
    check_form_schema({**schema, "x-order": ["b", "a"]})


def test_a_bad_prefill_is_refused() -> None:
    assert _pointers(_form(iban={"x-prefill": "iban"})) == ["/properties/iban/x-prefill"]
    nested = _form(owner={"type": "object", "properties": {"n": {"x-prefill": "given_name"}}})
    assert _pointers(nested) == ["/properties/owner/properties/n/x-prefill"]


@pytest.mark.parametrize(("schema", "pointer"), [
    ({"type": "array", "properties": {"a": {"x-label": _label("a")}}}, "/type"),
    ({"properties": {"a": {"x-label": _label("a")}}}, "/type"),
    ({"type": "object"}, "/properties"),
    ({"type": "object", "properties": {}}, "/properties"),
])
def test_a_root_that_is_not_an_object_with_properties_is_refused(
    schema: dict[str, Any], pointer: str
) -> None:
    assert pointer in _pointers(schema)


def test_a_definition_invalid_against_the_metaschema_is_refused() -> None:
    assert _pointers(_form(name={"type": "strnig"})) == ["/properties/name/type"]
    assert _pointers(_form(name={"minLength": -1})) == ["/properties/name/minLength"]


def test_other_drafts_are_refused() -> None:
    schema = {**_form(a={}), "$schema": "http://json-schema.org/draft-07/schema#"}
    assert _pointers(schema) == ["/$schema"]
    check_form_schema({**_form(a={}), "$schema": "https://json-schema.org/draft/2020-12/schema"})


def test_a_pattern_python_cannot_compile_is_refused() -> None:
    assert _pointers(_form(a={"pattern": "(unclosed"})) == ["/properties/a/pattern"]


def test_too_deep_and_too_large_definitions_are_refused() -> None:
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(11):
        deep = {"type": "object", "properties": {"n": deep}}
    assert _pointers(_form(a=deep)) == [
        "/properties/a/properties/n/properties/n/properties/n/properties/n/properties/n"]
    just_fits: dict[str, Any] = {"type": "string"}
    for _ in range(4):
        just_fits = {"type": "object", "properties": {"n": just_fits}}
    check_form_schema(_form(a=just_fits))
    large = _form(**{f"field_{i}": {"description": "x" * 1000} for i in range(70)})
    assert _pointers(large) == [""]
    assert _pointers([]) == [""]


def test_the_admission_check_does_not_modify_the_definition() -> None:
    before = copy.deepcopy(DOG_TAX)
    check_form_schema(DOG_TAX)
    assert before == DOG_TAX


def test_form_fields_follow_x_order_in_the_requested_language() -> None:
    fields = form_fields(PARKING_PERMIT, "de")
    assert [f.name for f in fields] == PARKING_PERMIT["x-order"]
    assert fields[0] == FormField(name="given_name", label="Vorname", help=None, required=True,
                                  prefill="given_name")
    plate = form_fields(PARKING_PERMIT, "en")[6]
    assert plate == FormField(name="vehicle_registration", label="Licence plate",
                              help="For example B-AB 1234.", required=True, prefill=None)
    reordered = {**_form(a={}, b={}, c={}), "required": ["c"], "x-order": ["c", "a"]}
    assert [(f.name, f.required) for f in form_fields(reordered, "en")] == [
        ("c", True), ("a", False), ("b", False)]
