"""The German and English messages of form errors, one pair of templates per code.

Templates name the field by its ``x-label`` when the form has one and never quote the submitted
value (it may be personal data); limits come from the form definition, which is public.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, TypeAlias

Locale: TypeAlias = Literal["de", "en"]
LOCALES: tuple[Locale, ...] = ("de", "en")

#: code -> locale -> (template naming the field by {label}, template without a label).
_CATALOGUE: Mapping[str, Mapping[Locale, tuple[str, str]]] = {
    "required": {
        "de": ("Bitte füllen Sie das Pflichtfeld „{label}“ aus.",
               "Bitte füllen Sie dieses Pflichtfeld aus."),
        "en": ("Please fill in the required field “{label}”.",
               "Please fill in this required field."),
    },
    "dependentRequired": {
        "de": ("Bitte füllen Sie auch das Feld „{label}“ aus.",
               "Bitte füllen Sie auch dieses Feld aus."),
        "en": ("Please also fill in the field “{label}”.", "Please also fill in this field."),
    },
    "type": {
        "de": ("„{label}“ muss {expected} sein.", "Dieser Wert muss {expected} sein."),
        "en": ("“{label}” must be {expected}.", "This value must be {expected}."),
    },
    "minLength": {
        "de": ("„{label}“ muss mindestens {limit} Zeichen lang sein.",
               "Der Text muss mindestens {limit} Zeichen lang sein."),
        "en": ("“{label}” must be at least {limit} characters long.",
               "The text must be at least {limit} characters long."),
    },
    "maxLength": {
        "de": ("„{label}“ darf höchstens {limit} Zeichen lang sein.",
               "Der Text darf höchstens {limit} Zeichen lang sein."),
        "en": ("“{label}” must be at most {limit} characters long.",
               "The text must be at most {limit} characters long."),
    },
    "pattern": {
        "de": ("Die Angabe im Feld „{label}“ hat nicht das erwartete Format.",
               "Die Angabe hat nicht das erwartete Format."),
        "en": ("The entry in “{label}” does not have the expected format.",
               "The entry does not have the expected format."),
    },
    "format:date": {
        "de": ("Das Datum im Feld „{label}“ muss im Format JJJJ-MM-TT angegeben werden.",
               "Das Datum muss im Format JJJJ-MM-TT angegeben werden."),
        "en": ("The date in “{label}” must be given as YYYY-MM-DD.",
               "The date must be given as YYYY-MM-DD."),
    },
    "format:date-time": {
        "de": ("„{label}“ muss ein Zeitpunkt im Format JJJJ-MM-TTThh:mm:ss mit Zeitzone sein.",
               "Der Zeitpunkt muss im Format JJJJ-MM-TTThh:mm:ss mit Zeitzone angegeben werden."),
        "en": ("“{label}” must be a point in time as YYYY-MM-DDThh:mm:ss with a time zone.",
               "The point in time must be given as YYYY-MM-DDThh:mm:ss with a time zone."),
    },
    "format:email": {
        "de": ("Bitte geben Sie im Feld „{label}“ eine gültige E-Mail-Adresse an.",
               "Bitte geben Sie eine gültige E-Mail-Adresse an."),
        "en": ("Please enter a valid email address in “{label}”.",
               "Please enter a valid email address."),
    },
    "format": {
        "de": ("Die Angabe im Feld „{label}“ hat nicht das erwartete Format.",
               "Die Angabe hat nicht das erwartete Format."),
        "en": ("The entry in “{label}” does not have the expected format.",
               "The entry does not have the expected format."),
    },
    "enum": {
        "de": ("Bitte wählen Sie für „{label}“ einen der angebotenen Werte.",
               "Bitte wählen Sie einen der angebotenen Werte."),
        "en": ("Please choose one of the offered values for “{label}”.",
               "Please choose one of the offered values."),
    },
    "const": {
        "de": ("Bitte bestätigen Sie „{label}“ mit dem vorgesehenen Wert.",
               "Dieser Wert ist nicht zulässig."),
        "en": ("Please confirm “{label}” with the expected value.", "This value is not allowed."),
    },
    "oneOf": {
        "de": ("Bitte wählen Sie für „{label}“ genau eine der angebotenen Möglichkeiten.",
               "Bitte wählen Sie genau eine der angebotenen Möglichkeiten."),
        "en": ("Please choose exactly one of the offered options for “{label}”.",
               "Please choose exactly one of the offered options."),
    },
    "anyOf": {
        "de": ("Die Angabe im Feld „{label}“ passt zu keiner der erlaubten Möglichkeiten.",
               "Die Angabe passt zu keiner der erlaubten Möglichkeiten."),
        "en": ("The entry in “{label}” matches none of the allowed options.",
               "The entry matches none of the allowed options."),
    },
    "minimum": {
        "de": ("„{label}“ muss mindestens {limit} sein.", "Der Wert muss mindestens {limit} sein."),
        "en": ("“{label}” must be at least {limit}.", "The value must be at least {limit}."),
    },
    "maximum": {
        "de": ("„{label}“ darf höchstens {limit} sein.", "Der Wert darf höchstens {limit} sein."),
        "en": ("“{label}” must be at most {limit}.", "The value must be at most {limit}."),
    },
    "exclusiveMinimum": {
        "de": ("„{label}“ muss größer als {limit} sein.", "Der Wert muss größer als {limit} sein."),
        "en": ("“{label}” must be greater than {limit}.",
               "The value must be greater than {limit}."),
    },
    "exclusiveMaximum": {
        "de": ("„{label}“ muss kleiner als {limit} sein.",
               "Der Wert muss kleiner als {limit} sein."),
        "en": ("“{label}” must be less than {limit}.", "The value must be less than {limit}."),
    },
    "multipleOf": {
        "de": ("„{label}“ muss ein Vielfaches von {limit} sein.",
               "Der Wert muss ein Vielfaches von {limit} sein."),
        "en": ("“{label}” must be a multiple of {limit}.",
               "The value must be a multiple of {limit}."),
    },
    "minItems": {
        "de": ("Bitte geben Sie für „{label}“ mindestens {limit} Einträge an.",
               "Bitte geben Sie mindestens {limit} Einträge an."),
        "en": ("Please give at least {limit} entries for “{label}”.",
               "Please give at least {limit} entries."),
    },
    "maxItems": {
        "de": ("Für „{label}“ sind höchstens {limit} Einträge möglich.",
               "Es sind höchstens {limit} Einträge möglich."),
        "en": ("“{label}” allows at most {limit} entries.", "At most {limit} entries are allowed."),
    },
    "uniqueItems": {
        "de": ("Die Einträge in „{label}“ dürfen sich nicht wiederholen.",
               "Die Einträge dürfen sich nicht wiederholen."),
        "en": ("The entries in “{label}” must not repeat.", "The entries must not repeat."),
    },
    "additionalProperties": {
        "de": ("Dieses Feld ist im Formular nicht vorgesehen.",
               "Dieses Feld ist im Formular nicht vorgesehen."),
        "en": ("This field is not part of the form.", "This field is not part of the form."),
    },
    "nul_character": {
        "de": ("„{label}“ enthält ein unzulässiges Steuerzeichen (NUL).",
               "Die Angabe enthält ein unzulässiges Steuerzeichen (NUL)."),
        "en": ("“{label}” contains a forbidden control character (NUL).",
               "The entry contains a forbidden control character (NUL)."),
    },
    "too_deep": {
        "de": ("Die Angaben sind zu tief verschachtelt.",
               "Die Angaben sind zu tief verschachtelt."),
        "en": ("The entries are nested too deeply.", "The entries are nested too deeply."),
    },
    "too_large": {
        "de": ("Die Angaben im Feld „{label}“ sind zu umfangreich.",
               "Die Angaben sind zu umfangreich."),
        "en": ("The entry in “{label}” is too large.", "The entries are too large."),
    },
}

_FALLBACK: Mapping[Locale, tuple[str, str]] = {
    "de": ("Die Angabe im Feld „{label}“ ist ungültig.", "Diese Angabe ist ungültig."),
    "en": ("The entry in “{label}” is invalid.", "This entry is invalid."),
}

_TYPE_NAMES: Mapping[Locale, Mapping[str, str]] = {
    "de": {"string": "ein Text", "integer": "eine ganze Zahl", "number": "eine Zahl",
           "boolean": "eine Ja/Nein-Angabe", "array": "eine Liste",
           "object": "eine Gruppe von Angaben", "null": "leer"},
    "en": {"string": "text", "integer": "a whole number", "number": "a number",
           "boolean": "yes or no", "array": "a list", "object": "a group of entries",
           "null": "empty"},
}
_OR: Mapping[Locale, str] = {"de": " oder ", "en": " or "}


class _Params(dict[str, str]):
    """Template values; a placeholder nobody filled renders empty instead of raising."""

    def __missing__(self, key: str) -> str:
        return ""


def expected_types(types: str | Sequence[str], locale: Locale) -> str:
    """The localized noun phrase of one or several JSON types (``"eine ganze Zahl"``)."""
    names = [types] if isinstance(types, str) else list(types)
    return _OR[locale].join(_TYPE_NAMES[locale].get(name, name) for name in names)


def render(code: str, locale: Locale, label: str | None, **params: str) -> str:
    """The message of ``code`` in ``locale``, naming ``label`` when given.

    ``code`` may be ``format:<name>`` for a format-specific text; unknown codes get a generic
    text, so a new keyword never fails rendering. ``params`` fill ``{limit}``/``{expected}``.
    """
    templates = _CATALOGUE.get(code)
    if templates is None and code.startswith("format:"):
        templates = _CATALOGUE["format"]
    pair = (templates or _FALLBACK)[locale]
    template = pair[0] if label else pair[1]
    return template.format_map(_Params(label=label or "", **params))


def has_message(code: str) -> bool:
    """True if ``code`` has its own text (not the generic fallback)."""
    return code in _CATALOGUE
