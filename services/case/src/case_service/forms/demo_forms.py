"""The five demo form definitions of the service library (JSON Schema 2020-12 with the
presentation extensions ``x-order``, ``x-label``, ``x-help``, ``x-prefill``). Data only."""

from __future__ import annotations

from typing import Any

__all__ = [
    "ALL_DEMO_FORMS",
    "BIRTH_CERTIFICATE",
    "BUSINESS_REGISTRATION",
    "DOG_TAX",
    "DOG_TAX_EXEMPTION",
    "PARKING_PERMIT",
    "ROAD_DAMAGE",
]

_SCHEMA = "https://json-schema.org/draft/2020-12/schema"
# Schemas are open JSON documents: ``Any`` is their honest type inside this data module.
Schema = dict[str, Any]


def _text(de: str, en: str) -> dict[str, str]:
    return {"de": de, "en": en}


def _prefill(attribute: str | None) -> Schema:
    return {} if attribute is None else {"x-prefill": attribute}


def _string(de: str, en: str, *, max_length: int = 200, prefill: str | None = None) -> Schema:
    return {"type": "string", "minLength": 1, "maxLength": max_length,
            "x-label": _text(de, en), **_prefill(prefill)}


def _date(de: str, en: str, *, prefill: str | None = None) -> Schema:
    return {"type": "string", "format": "date", "x-label": _text(de, en),
            "x-help": _text("Format JJJJ-MM-TT, z. B. 2026-04-01.",
                            "Format YYYY-MM-DD, e.g. 2026-04-01."), **_prefill(prefill)}


def _person() -> Schema:
    return {
        "given_name": _string("Vorname", "Given name", max_length=100, prefill="given_name"),
        "family_name": _string("Familienname", "Family name", max_length=100,
                               prefill="family_name"),
    }


def _address() -> Schema:
    return {
        "street_address": _string("Straße und Hausnummer", "Street and house number",
                                  prefill="street_address"),
        "postal_code": {"type": "string", "pattern": "^[0-9]{5}$",
                        "x-label": _text("Postleitzahl", "Postal code"),
                        "x-help": _text("Fünf Ziffern.", "Five digits."),
                        "x-prefill": "postal_code"},
        "locality": _string("Ort", "Town or city", max_length=100, prefill="locality"),
    }


def _form(properties: Schema, required: list[str], **extra: Any) -> Schema:
    return {"$schema": _SCHEMA, "type": "object", "properties": properties,
            "required": required, "additionalProperties": False,
            "x-order": list(properties), **extra}


PARKING_PERMIT: Schema = _form(
    {
        **_person(),
        "birth_date": _date("Geburtsdatum", "Date of birth", prefill="birth_date"),
        **_address(),
        "vehicle_registration": {
            "type": "string", "pattern": "^[A-ZÄÖÜ]{1,3}-[A-Z]{1,2} [1-9][0-9]{0,3}[EH]?$",
            "x-label": _text("Kennzeichen", "Licence plate"),
            "x-help": _text("Zum Beispiel B-AB 1234.", "For example B-AB 1234."),
        },
        "vehicle_owner": {"enum": ["self", "employer", "leasing"],
                          "x-label": _text("Halter des Fahrzeugs", "Vehicle keeper")},
        "valid_from": _date("Gültig ab", "Valid from"),
    },
    ["given_name", "family_name", "birth_date", "street_address", "postal_code", "locality",
     "vehicle_registration", "vehicle_owner", "valid_from"],
)

_DOG: Schema = {
    "type": "object",
    "properties": {
        "name": _string("Name des Hundes", "Dog's name", max_length=60),
        "breed": _string("Rasse", "Breed", max_length=100),
        "born": _date("Geburtsdatum des Hundes", "Dog's date of birth"),
        "listed_breed": {"type": "boolean",
                         "x-label": _text("Listenhund", "Listed (dangerous) breed")},
    },
    "required": ["name", "breed"],
    "additionalProperties": False,
}

DOG_TAX: Schema = _form(
    {
        **_person(),
        **_address(),
        "dogs": {"type": "array", "minItems": 1, "maxItems": 10, "items": _DOG,
                 "x-label": _text("Hunde", "Dogs"),
                 "x-help": _text("Höchstens zehn Hunde je Anmeldung.",
                                 "At most ten dogs per registration.")},
    },
    ["given_name", "family_name", "street_address", "postal_code", "locality", "dogs"],
)

DOG_TAX_EXEMPTION: Schema = _form(
    {
        **_person(),
        "dog_name": _string("Name des Hundes", "Dog's name", max_length=60),
        "reason": {"enum": ["assistance_dog", "rescue_dog", "social_benefits"],
                   "x-label": _text("Grund der Befreiung", "Reason for exemption")},
        "explanation": {"type": "string", "maxLength": 2000,
                        "x-label": _text("Begründung", "Explanation"),
                        "x-help": _text("Pflicht bei Bezug von Sozialleistungen.",
                                        "Required when receiving social benefits.")},
    },
    ["given_name", "family_name", "dog_name", "reason"],
    **{
        "if": {"properties": {"reason": {"const": "social_benefits"}}, "required": ["reason"]},
        "then": {"required": ["explanation"]},
    },
)

BIRTH_CERTIFICATE: Schema = _form(
    {
        **_person(),
        "birth_name": _string("Geburtsname", "Birth name", max_length=100),
        "birth_date": _date("Geburtsdatum", "Date of birth", prefill="birth_date"),
        "place_of_birth": _string("Geburtsort", "Place of birth", max_length=100),
        "copies": {"type": "integer", "minimum": 1, "maximum": 10,
                   "x-label": _text("Anzahl der Ausfertigungen", "Number of copies")},
        "purpose": {"enum": ["pension", "marriage", "passport", "inheritance", "other"],
                    "x-label": _text("Verwendungszweck", "Purpose")},
        "delivery": {
            "oneOf": [
                {"const": "post", "x-label": _text("Per Post", "By post")},
                {"const": "pickup", "x-label": _text("Abholung im Bürgeramt",
                                                     "Pick up at the citizens' office")},
            ],
            "x-label": _text("Zustellung", "Delivery"),
        },
        "confirmation": {"const": True,
                         "x-label": _text("Ich versichere die Richtigkeit meiner Angaben",
                                          "I confirm that my entries are correct")},
    },
    ["given_name", "family_name", "birth_date", "place_of_birth", "copies", "purpose",
     "delivery", "confirmation"],
)

BUSINESS_REGISTRATION: Schema = _form(
    {
        **_person(),
        "business_name": _string("Name des Betriebs", "Business name"),
        "activity": {"type": "string", "minLength": 10, "maxLength": 2000,
                     "x-label": _text("Angemeldete Tätigkeit", "Registered activity"),
                     "x-help": _text("Beschreiben Sie die Tätigkeit genau.",
                                     "Describe the activity precisely.")},
        "legal_form": {"enum": ["sole_proprietorship", "gbr", "ohg", "kg", "gmbh", "ug", "ag"],
                       "x-label": _text("Rechtsform", "Legal form")},
        "start_date": _date("Beginn der Tätigkeit", "Start of the activity"),
        "employees": {"type": "integer", "minimum": 0,
                      "x-label": _text("Anzahl der Beschäftigten", "Number of employees")},
        **_address(),
        "email": {"type": "string", "format": "email", "maxLength": 254,
                  "x-label": _text("E-Mail-Adresse", "Email address"), "x-prefill": "email"},
    },
    ["given_name", "family_name", "business_name", "activity", "legal_form", "start_date",
     "employees", "street_address", "postal_code", "locality", "email"],
)

ROAD_DAMAGE: Schema = _form(
    {
        "damage_kind": {"enum": ["pothole", "street_light", "sign", "other"],
                        "x-label": _text("Art des Schadens", "Kind of damage")},
        "description": {"type": "string", "minLength": 10, "maxLength": 2000,
                        "x-label": _text("Beschreibung", "Description")},
        "lat": {"type": "number", "minimum": -90, "maximum": 90,
                "x-label": _text("Breitengrad", "Latitude")},
        "long": {"type": "number", "minimum": -180, "maximum": 180,
                 "x-label": _text("Längengrad", "Longitude")},
        "address_string": _string("Ort des Schadens", "Location of the damage"),
    },
    ["damage_kind", "description"],
    # A position needs both coordinates.
    dependentRequired={"lat": ["long"], "long": ["lat"]},
)

ALL_DEMO_FORMS: dict[str, Schema] = {
    "resident_parking_permit": PARKING_PERMIT,
    "dog_tax": DOG_TAX,
    "dog_tax_exemption": DOG_TAX_EXEMPTION,
    "birth_certificate": BIRTH_CERTIFICATE,
    "business_registration": BUSINESS_REGISTRATION,
    "road_damage": ROAD_DAMAGE,
}
