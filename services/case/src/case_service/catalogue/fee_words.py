"""A fee rule in words for the public catalogue: one readable sentence per component (and per
exemption) from its labels and the tenant's amounts, in German or English. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from case_service.fees import (
    Collect,
    Expr,
    FeeRule,
    FixedComponent,
    Label,
    Period,
    PerItemComponent,
    PerUnitComponent,
)
from case_service.forms import Locale

__all__ = ["fee_in_words", "format_amount"]

_VALUE: Final = re.compile(r"^\s*values\.([a-z][a-z0-9_]*)\s*$")
_DATA: Final = re.compile(r"^\s*data\.([A-Za-z_][A-Za-z0-9_]*)\s*$")
_WORDS: Final[Mapping[Locale, Mapping[str, str]]] = {
    "de": {"free": "Gebührenfrei.", "per_year": " pro Jahr", "computed": "nach Ihren Angaben",
           "per_unit": "je", "unit": "Einheit", "items": "je Eintrag", "exempt": "Keine Gebühr:",
           "conditional": " (unter Bedingungen)",
           "assessed": "Wird nicht bei der Antragstellung bezahlt, sondern per Bescheid "
                       "festgesetzt."},
    "en": {"free": "Free of charge.", "per_year": " per year", "computed": "by your entries",
           "per_unit": "per", "unit": "unit", "items": "per entry", "exempt": "No fee:",
           "conditional": " (under conditions)",
           "assessed": "Not paid with the application; assessed by a notice."},
}


def format_amount(cents: int, currency: str, locale: Locale) -> str:
    """``1200`` -> ``12,00 €`` (de) or ``€12.00`` (en); other currencies keep their code."""
    whole, part = divmod(abs(cents), 100)
    sign = "-" if cents < 0 else ""
    if locale == "de":
        grouped = f"{whole:,}".replace(",", ".")
        number = f"{sign}{grouped},{part:02d}"
        return f"{number} €" if currency == "EUR" else f"{number} {currency}"
    number = f"{sign}{whole:,}.{part:02d}"
    return f"€{number}" if currency == "EUR" else f"{currency} {number}"


def _amount(expression: Expr, values: Mapping[str, object], currency: str,
            locale: Locale) -> str:
    found = _VALUE.match(expression)
    value = values.get(found.group(1)) if found else None
    if isinstance(value, int) and not isinstance(value, bool):
        return format_amount(value, currency, locale)
    return _WORDS[locale]["computed"]


def _field_label(expression: Expr, form: Mapping[str, object], locale: Locale) -> str | None:
    found = _DATA.match(expression)
    properties = form.get("properties")
    if found is None or not isinstance(properties, Mapping):
        return None
    prop = properties.get(found.group(1))
    label = prop.get("x-label") if isinstance(prop, Mapping) else None
    text = label.get(locale) if isinstance(label, Mapping) else None
    return text if isinstance(text, str) else found.group(1)


def _text(label: Label, locale: Locale) -> str:
    return label.de if locale == "de" else label.en


def fee_in_words(rule: FeeRule, values: Mapping[str, object], *, currency: str,
                 form: Mapping[str, object], locale: Locale) -> list[str]:
    """Sentences describing ``rule`` with the tenant's ``values``, e.g.
    ``["Geburtsurkunde: 12,00 € je Einheit (Anzahl der Ausfertigungen)."]``. An amount that is
    no plain ``values.<name>`` reads "by your entries"; never evaluates an expression."""
    words = _WORDS[locale]
    if not rule.components:
        return [words["free"]]
    year = words["per_year"] if rule.period is Period.YEAR else ""
    sentences = []
    for component in rule.components:
        label = _text(component.label, locale)
        condition = words["conditional"] if component.when is not None else ""
        if isinstance(component, FixedComponent):
            sentence = f"{label}: {_amount(component.amount, values, currency, locale)}{year}"
        elif isinstance(component, PerUnitComponent):
            unit = _field_label(component.quantity, form, locale)
            what = f" ({unit})" if unit else ""
            sentence = (f"{label}: {_amount(component.amount, values, currency, locale)}"
                        f"{year} {words['per_unit']} {words['unit']}{what}")
        else:
            assert isinstance(component, PerItemComponent)
            items = _field_label(component.items, form, locale)
            tiers = ", ".join(f"{_text(t.label, locale)} "
                              f"{_amount(t.amount, values, currency, locale)}"
                              for t in component.tiers)
            sentence = (f"{label}{year}, {words['items']}"
                        f"{f' ({items})' if items else ''}: {tiers}")
        sentences.append(f"{sentence}{condition}.")
    sentences.extend(f"{words['exempt']} {_text(e.label, locale)}." for e in rule.exemptions)
    if rule.collect is Collect.BY_ASSESSMENT:
        sentences.append(words["assessed"])
    return sentences
