"""Hostile form data: the guards before schema validation (object, depth, size, NUL, numbers)
and a property test that no JSON value whatsoever makes validation raise."""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from case_service.forms import FieldError, validate_form
from case_service.forms.demo_forms import ALL_DEMO_FORMS, DOG_TAX, ROAD_DAMAGE
from case_service.forms.validation import MAX_DATA_BYTES, MAX_ERRORS


def _codes(data: object, schema: dict[str, object] = DOG_TAX) -> list[tuple[str, str]]:
    return [(e.pointer, e.code) for e in validate_form(schema, data, locale="en", partial=True)]


def _nested(depth: int) -> dict[str, object]:
    data: dict[str, object] = {}
    for _ in range(depth - 1):
        data = {"n": data}
    return data


@pytest.mark.parametrize("data", [[], "text", 42, None, True, [{"given_name": "x"}]])
def test_data_that_is_not_an_object_is_one_type_error_at_the_root(data: object) -> None:
    assert validate_form(DOG_TAX, data, locale="de", partial=True) == [
        FieldError("", "type", "Dieser Wert muss eine Gruppe von Angaben sein.")]


def test_depth_ten_is_validated_and_depth_eleven_is_refused() -> None:
    assert _codes(_nested(10)) == [("/n", "additionalProperties")]
    assert _codes(_nested(11)) == [("/n/n/n/n/n/n/n/n/n/n", "too_deep")]
    assert _codes(_nested(100_000)) == [("/n/n/n/n/n/n/n/n/n/n", "too_deep")]


def test_too_large_data_is_refused_without_schema_validation() -> None:
    assert _codes({"given_name": "x" * MAX_DATA_BYTES}) == [("", "too_large")]
    assert _codes({"dogs": [{"name": "x" * 100}] * 3000}) == [("", "too_large")]
    # Multi-byte characters count as their UTF-8 bytes.
    assert _codes({"given_name": "ä" * (MAX_DATA_BYTES // 2)}) == [("", "too_large")]
    assert _codes({"given_name": "ä" * (MAX_DATA_BYTES // 3)}) == [("/given_name", "maxLength")]


def test_nul_characters_in_values_and_names_are_refused_at_their_place() -> None:
    data = {"given_name": "Eri\x00ka", "dogs": [{"name": "\x00", "breed": "ok"}], "x\x00": 1}
    errors = validate_form(DOG_TAX, data, locale="de", partial=False)
    assert [(e.pointer, e.code) for e in errors] == [
        ("", "nul_character"), ("/dogs/0/name", "nul_character"),
        ("/given_name", "nul_character")]
    assert errors[2].message == "„Vorname“ enthält ein unzulässiges Steuerzeichen (NUL)."


def test_numbers_json_cannot_carry_or_no_form_needs_are_refused() -> None:
    assert _codes({"lat": math.nan, "long": math.inf}, ROAD_DAMAGE) == [
        ("/lat", "type"), ("/long", "type")]
    assert _codes({"lat": 10**5000, "long": -(2**64)}, ROAD_DAMAGE) == [
        ("/lat", "too_large"), ("/long", "too_large")]
    assert _codes({"lat": 2**63, "long": -1e308}, ROAD_DAMAGE) == [
        ("/lat", "maximum"), ("/long", "minimum")]


def test_a_hundred_thousand_wrong_entries_answer_quickly_with_fifty_errors() -> None:
    started = time.perf_counter()
    errors = validate_form(DOG_TAX, {"dogs": [0] * 100_000}, locale="en", partial=False)
    assert time.perf_counter() - started < 5
    assert len(errors) == MAX_ERRORS
    assert (errors[0].pointer, errors[0].code) == ("/dogs", "maxItems")
    assert errors[1].pointer == "/dogs/0"


@pytest.mark.parametrize("text", ["\ud800", "👩‍👩‍👧", "\u202eevil", "Ⅻ", "e\u0301", "\ufeff"])
def test_unusual_unicode_is_validated_like_any_text(text: str) -> None:
    assert _codes({"given_name": text, "postal_code": text}) == [("/postal_code", "pattern")]


_JSON = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True, allow_infinity=True)
    | st.integers() | st.integers(min_value=-(10**400), max_value=10**400)
    | st.text(st.characters(codec=None)),
    lambda children: st.lists(children, max_size=6)
    | st.dictionaries(st.text(max_size=8) | st.sampled_from(
        ["dogs", "given_name", "lat", "copies", "delivery", "reason", "email", "born"]),
        children, max_size=6),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(form=st.sampled_from(sorted(ALL_DEMO_FORMS)), data=_JSON, partial=st.booleans(),
       locale=st.sampled_from(["de", "en"]))
def test_no_json_value_makes_validation_raise(
    form: str, data: object, partial: bool, locale: str
) -> None:
    errors = validate_form(ALL_DEMO_FORMS[form], data, locale="de" if locale == "de" else "en",
                           partial=partial)
    assert len(errors) <= MAX_ERRORS
    assert all(e.message and e.code and (e.pointer == "" or e.pointer.startswith("/"))
               for e in errors)
    if isinstance(data, dict) and not partial and not data:
        assert errors, "an empty submission is never valid"
