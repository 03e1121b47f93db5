"""Form validation as a citizen sees it: each JSON Schema keyword of the demo forms yields an
error at the right pointer with the right German and English text; drafts skip absences."""

from __future__ import annotations

import copy
from collections.abc import Mapping

import pytest

from case_service.forms import (
    FieldError,
    FormInvalid,
    Locale,
    merge_patch,
    require_valid,
    validate_form,
)
from case_service.forms.definition import subschemas
from case_service.forms.demo_forms import (
    ALL_DEMO_FORMS,
    BIRTH_CERTIFICATE,
    BUSINESS_REGISTRATION,
    DOG_TAX,
    DOG_TAX_EXEMPTION,
    PARKING_PERMIT,
    ROAD_DAMAGE,
)

_PERSON = {"given_name": "Erika", "family_name": "Mustermann"}
_ADDRESS = {"street_address": "Hauptstraße 1", "postal_code": "10115", "locality": "Berlin"}

VALID: dict[str, tuple[Mapping[str, object], dict[str, object]]] = {
    "resident_parking_permit": (PARKING_PERMIT, {
        **_PERSON, **_ADDRESS, "birth_date": "1980-02-29", "vehicle_registration": "B-AB 1234",
        "vehicle_owner": "self", "valid_from": "2026-04-01",
    }),
    "dog_tax": (DOG_TAX, {
        **_PERSON, **_ADDRESS,
        "dogs": [{"name": "Bello", "breed": "Dackel", "born": "2021-05-01",
                  "listed_breed": False}, {"name": "Luna", "breed": "Mischling"}],
    }),
    "dog_tax_exemption": (DOG_TAX_EXEMPTION, {
        **_PERSON, "dog_name": "Bello", "reason": "assistance_dog",
    }),
    "birth_certificate": (BIRTH_CERTIFICATE, {
        **_PERSON, "birth_date": "1980-02-29", "place_of_birth": "Köln", "copies": 2,
        "purpose": "marriage", "delivery": "post", "confirmation": True,
    }),
    "business_registration": (BUSINESS_REGISTRATION, {
        **_PERSON, **_ADDRESS, "business_name": "Bäckerei Mustermann",
        "activity": "Herstellung und Verkauf von Backwaren", "legal_form": "sole_proprietorship",
        "start_date": "2026-05-01", "employees": 0, "email": "erika@example.org",
    }),
    "road_damage": (ROAD_DAMAGE, {
        "damage_kind": "pothole", "description": "Tiefes Schlagloch vor Hausnummer 12",
        "lat": 52.52, "long": 13.405,
    }),
}


def test_every_demo_form_has_valid_example_data() -> None:
    assert set(VALID) == set(ALL_DEMO_FORMS)
    for schema, data in VALID.values():
        assert validate_form(schema, data, locale="de", partial=False) == []
        assert validate_form(schema, data, locale="en", partial=True) == []


# (form, patch onto its valid data, pointer, code, German message, English message)
KEYWORD_CASES: list[tuple[str, dict[str, object], str, str, str, str]] = [
    ("resident_parking_permit", {"vehicle_registration": None}, "/vehicle_registration",
     "required", "Bitte füllen Sie das Pflichtfeld „Kennzeichen“ aus.",
     "Please fill in the required field “Licence plate”."),
    ("birth_certificate", {"copies": "3"}, "/copies", "type",
     "„Anzahl der Ausfertigungen“ muss eine ganze Zahl sein.",
     "“Number of copies” must be a whole number."),
    ("dog_tax", {"dogs": [{"name": "Bello", "breed": "Dackel", "listed_breed": "ja"}]},
     "/dogs/0/listed_breed", "type", "„Listenhund“ muss eine Ja/Nein-Angabe sein.",
     "“Listed (dangerous) breed” must be yes or no."),
    ("business_registration", {"activity": "Bäcker"}, "/activity", "minLength",
     "„Angemeldete Tätigkeit“ muss mindestens 10 Zeichen lang sein.",
     "“Registered activity” must be at least 10 characters long."),
    ("dog_tax", {"dogs": [{"name": "Bello", "breed": "Dackel"},
                          {"name": "L" * 61, "breed": "Mischling"}]},
     "/dogs/1/name", "maxLength", "„Name des Hundes“ darf höchstens 60 Zeichen lang sein.",
     "“Dog's name” must be at most 60 characters long."),
    ("road_damage", {"description": "x" * 2001}, "/description", "maxLength",
     "„Beschreibung“ darf höchstens 2000 Zeichen lang sein.",
     "“Description” must be at most 2000 characters long."),
    ("resident_parking_permit", {"postal_code": "1011"}, "/postal_code", "pattern",
     "Die Angabe im Feld „Postleitzahl“ hat nicht das erwartete Format.",
     "The entry in “Postal code” does not have the expected format."),
    ("resident_parking_permit", {"vehicle_registration": "B AB 1234"}, "/vehicle_registration",
     "pattern", "Die Angabe im Feld „Kennzeichen“ hat nicht das erwartete Format.",
     "The entry in “Licence plate” does not have the expected format."),
    ("resident_parking_permit", {"valid_from": "01.04.2026"}, "/valid_from", "format",
     "Das Datum im Feld „Gültig ab“ muss im Format JJJJ-MM-TT angegeben werden.",
     "The date in “Valid from” must be given as YYYY-MM-DD."),
    ("resident_parking_permit", {"birth_date": "1981-02-29"}, "/birth_date", "format",
     "Das Datum im Feld „Geburtsdatum“ muss im Format JJJJ-MM-TT angegeben werden.",
     "The date in “Date of birth” must be given as YYYY-MM-DD."),
    ("business_registration", {"email": "erika.example.org"}, "/email", "format",
     "Bitte geben Sie im Feld „E-Mail-Adresse“ eine gültige E-Mail-Adresse an.",
     "Please enter a valid email address in “Email address”."),
    ("resident_parking_permit", {"vehicle_owner": "neighbour"}, "/vehicle_owner", "enum",
     "Bitte wählen Sie für „Halter des Fahrzeugs“ einen der angebotenen Werte.",
     "Please choose one of the offered values for “Vehicle keeper”."),
    ("birth_certificate", {"delivery": "drone"}, "/delivery", "oneOf",
     "Bitte wählen Sie für „Zustellung“ genau eine der angebotenen Möglichkeiten.",
     "Please choose exactly one of the offered options for “Delivery”."),
    ("birth_certificate", {"confirmation": False}, "/confirmation", "const",
     "Bitte bestätigen Sie „Ich versichere die Richtigkeit meiner Angaben“ mit dem "
     "vorgesehenen Wert.",
     "Please confirm “I confirm that my entries are correct” with the expected value."),
    ("birth_certificate", {"copies": 0}, "/copies", "minimum",
     "„Anzahl der Ausfertigungen“ muss mindestens 1 sein.",
     "“Number of copies” must be at least 1."),
    ("business_registration", {"employees": -1}, "/employees", "minimum",
     "„Anzahl der Beschäftigten“ muss mindestens 0 sein.",
     "“Number of employees” must be at least 0."),
    ("birth_certificate", {"copies": 11}, "/copies", "maximum",
     "„Anzahl der Ausfertigungen“ darf höchstens 10 sein.",
     "“Number of copies” must be at most 10."),
    ("road_damage", {"lat": 90.5}, "/lat", "maximum", "„Breitengrad“ darf höchstens 90 sein.",
     "“Latitude” must be at most 90."),
    ("road_damage", {"long": -180.25}, "/long", "minimum",
     "„Längengrad“ muss mindestens -180 sein.", "“Longitude” must be at least -180."),
    ("dog_tax", {"dogs": []}, "/dogs", "minItems",
     "Bitte geben Sie für „Hunde“ mindestens 1 Einträge an.",
     "Please give at least 1 entries for “Dogs”."),
    ("dog_tax", {"dogs": [{"name": f"Hund {i}", "breed": "Dackel"} for i in range(11)]},
     "/dogs", "maxItems", "Für „Hunde“ sind höchstens 10 Einträge möglich.",
     "“Dogs” allows at most 10 entries."),
    ("dog_tax", {"nickname": "Eri"}, "/nickname", "additionalProperties",
     "Dieses Feld ist im Formular nicht vorgesehen.", "This field is not part of the form."),
    ("dog_tax", {"dogs": [{"name": "Bello", "breed": "Dackel", "colour": "braun"}]},
     "/dogs/0/colour", "additionalProperties",
     "Dieses Feld ist im Formular nicht vorgesehen.", "This field is not part of the form."),
    ("dog_tax_exemption", {"reason": "social_benefits"}, "/explanation", "required",
     "Bitte füllen Sie das Pflichtfeld „Begründung“ aus.",
     "Please fill in the required field “Explanation”."),
    ("road_damage", {"long": None}, "/long", "dependentRequired",
     "Bitte füllen Sie auch das Feld „Längengrad“ aus.",
     "Please also fill in the field “Longitude”."),
]


@pytest.mark.parametrize(
    ("form", "patch", "where", "code", "german", "english"),
    KEYWORD_CASES,
    ids=[f"{c[0]}:{c[3]}:{c[2]}" for c in KEYWORD_CASES],
)
def test_each_keyword_reports_one_localized_error_at_its_pointer(
    form: str, patch: dict[str, object], where: str, code: str, german: str, english: str,
) -> None:
    schema, valid = VALID[form]
    data = merge_patch(valid, patch)
    expected: tuple[tuple[Locale, str], ...] = (("de", german), ("en", english))
    for locale, message in expected:
        assert validate_form(schema, data, locale=locale, partial=False) == [
            FieldError(pointer=where, code=code, message=message)
        ]


def test_the_keyword_cases_cover_every_keyword_of_the_demo_forms() -> None:
    used = {
        keyword
        for schema in ALL_DEMO_FORMS.values()
        for _, node in subschemas(schema)
        for keyword in node
        if not keyword.startswith(("x-", "$"))
    }
    # Applicators are exercised through the nested pointers (/dogs/1/name) and the if/then case.
    structural = {"properties", "items", "if", "then"}
    covered = {case[3] for case in KEYWORD_CASES}
    assert {"required", "format", "oneOf", "const", "dependentRequired"} <= used
    assert used - structural - covered == set()


def test_a_newline_after_a_matching_postal_code_is_refused() -> None:
    # Python's "$" matches before a final newline; JSON Schema patterns are ECMA-262.
    schema, valid = VALID["resident_parking_permit"]
    errors = validate_form(schema, {**valid, "postal_code": "10115\n"}, locale="en",
                           partial=False)
    assert [(e.pointer, e.code) for e in errors] == [("/postal_code", "pattern")]


def test_digits_in_patterns_are_ascii_only() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "string", "pattern": r"^\d+$"}}}
    errors = validate_form(schema, {"n": "١٢٣"}, locale="en", partial=False)
    assert [(e.pointer, e.code) for e in errors] == [("/n", "pattern")]


@pytest.mark.parametrize("form", sorted(VALID))
def test_an_empty_draft_is_fine_but_an_empty_submission_names_every_required_field(
    form: str,
) -> None:
    schema, _ = VALID[form]
    assert validate_form(schema, {}, locale="de", partial=True) == []
    errors = validate_form(schema, {}, locale="de", partial=False)
    required = schema["required"]
    assert isinstance(required, list)
    assert [e.pointer for e in errors] == sorted(f"/{name}" for name in required)
    assert {e.code for e in errors} == {"required"}


def test_a_draft_skips_conditional_and_dependent_absences_but_reports_wrong_values() -> None:
    exemption = {"reason": "social_benefits", "explanation": 7}
    assert [(e.pointer, e.code) for e in validate_form(
        DOG_TAX_EXEMPTION, exemption, locale="de", partial=True)] == [("/explanation", "type")]
    assert validate_form(DOG_TAX_EXEMPTION, {"reason": "social_benefits"}, locale="de",
                         partial=True) == []
    assert validate_form(ROAD_DAMAGE, {"lat": 52.5}, locale="de", partial=True) == []
    draft = {"dogs": [{"name": "Bello"}, {"breed": 3}], "postal_code": "abc"}
    assert [(e.pointer, e.code) for e in validate_form(
        DOG_TAX, draft, locale="en", partial=True)] == [
        ("/dogs/1/breed", "type"), ("/postal_code", "pattern")]
    assert [(e.pointer, e.code) for e in validate_form(
        DOG_TAX, draft, locale="en", partial=False)] == [
        ("/dogs/0/breed", "required"), ("/dogs/1/breed", "type"), ("/dogs/1/name", "required"),
        ("/family_name", "required"), ("/given_name", "required"), ("/locality", "required"),
        ("/postal_code", "pattern"), ("/street_address", "required")]


def test_errors_are_ordered_by_location_with_numeric_indexes_and_capped_at_fifty() -> None:
    dogs = [{"name": "x", "breed": "y", "born": "gestern"} for _ in range(10)]
    errors = validate_form(DOG_TAX, {"dogs": dogs}, locale="en", partial=True)
    assert [e.pointer for e in errors] == [f"/dogs/{i}/born" for i in range(10)]
    many = {"dogs": [{"born": "gestern"}] * 40}
    errors = validate_form(DOG_TAX, many, locale="en", partial=False)
    assert len(errors) == 50
    assert errors[0].pointer == "/dogs"
    assert errors[1:4] == [
        FieldError("/dogs/0/born", "format", "The date in “Dog's date of birth” must be given "
                                             "as YYYY-MM-DD."),
        FieldError("/dogs/0/breed", "required", "Please fill in the required field “Breed”."),
        FieldError("/dogs/0/name", "required", "Please fill in the required field “Dog's name”."),
    ]


def test_pointers_escape_slash_and_tilde_in_member_names() -> None:
    errors = validate_form(PARKING_PERMIT, {"a/b~c": 1}, locale="en", partial=True)
    assert [e.pointer for e in errors] == ["/a~1b~0c"]


def test_messages_never_repeat_the_submitted_value() -> None:
    secret = "Geheimnis4711@example"
    data: dict[str, object] = {}
    for schema, valid in VALID.values():
        data = {name: secret for name in [*valid, "extra"]}
        data["dogs"] = [{"name": secret, "breed": secret, "born": secret, "listed_breed": secret}]
        for locale in ("de", "en"):
            for error in validate_form(schema, data, locale=locale, partial=False):
                assert secret not in error.message
                assert secret not in error.pointer


def test_require_valid_raises_form_invalid_with_the_errors_as_problem_members() -> None:
    schema, valid = VALID["birth_certificate"]
    require_valid(schema, valid, "de", False)
    with pytest.raises(FormInvalid) as raised:
        require_valid(schema, {**valid, "copies": 0}, "en", False)
    problem = raised.value.to_problem("/cases/1")
    assert problem["status"] == 422
    assert problem["code"] == "form_invalid"
    assert problem["errors"] == [{"pointer": "/copies", "code": "minimum",
                                  "message": "“Number of copies” must be at least 1."}]


def test_validation_does_not_modify_the_data() -> None:
    schema, valid = VALID["dog_tax"]
    before = copy.deepcopy(valid)
    validate_form(schema, valid, locale="de", partial=False)
    assert valid == before


def _locales() -> tuple[Locale, ...]:
    return ("de", "en")


def test_german_and_english_texts_differ_for_every_case() -> None:
    for form, patch, *_ in KEYWORD_CASES:
        schema, valid = VALID[form]
        texts = [validate_form(schema, merge_patch(valid, patch), locale=loc, partial=False)[0]
                 .message for loc in _locales()]
        assert texts[0] != texts[1]


def test_a_draft_does_not_fail_a_choice_between_fields_not_yet_filled() -> None:
    schema = {
        "type": "object",
        "properties": {"email": {"type": "string", "format": "email", "x-label": {
            "de": "E-Mail", "en": "Email"}}, "phone": {"type": "string"}},
        "anyOf": [{"required": ["email"]}, {"required": ["phone"]}],
    }
    assert validate_form(schema, {}, locale="de", partial=True) == []
    assert [(e.pointer, e.code) for e in validate_form(schema, {}, locale="de",
                                                       partial=False)] == [("", "anyOf")]
    assert [(e.pointer, e.code) for e in validate_form(schema, {"email": "x"}, locale="de",
                                                       partial=True)] == [("/email", "format")]
