"""The fee rule in words (pure): amounts in German and English notation, conditions,
exemptions, assessed fees, and amounts that are no plain value."""

from __future__ import annotations

from case_service.catalogue.fee_words import fee_in_words, format_amount
from case_service.fees import FeeRule

_LABEL = {"de": "Gebühr", "en": "Fee"}


def test_amounts_in_both_notations() -> None:
    assert format_amount(1200, "EUR", "de") == "12,00 €"
    assert format_amount(123456789, "EUR", "de") == "1.234.567,89 €"
    assert format_amount(5, "EUR", "en") == "€0.05"
    assert format_amount(123456789, "CHF", "en") == "CHF 1,234,567.89"


def test_conditions_exemptions_and_computed_amounts() -> None:
    rule = FeeRule.model_validate({"collect": "by_assessment", "components": [
        {"kind": "fixed", "label": _LABEL, "amount": "values.base", "when": "data.urgent"},
        {"kind": "fixed", "label": _LABEL, "amount": "values.base * 2"}],
        "exemptions": [{"label": {"de": "Sozialhilfe", "en": "Social benefits"},
                        "when": "data.reason == 'social'"}]})
    words = fee_in_words(rule, {"base": 1000}, currency="EUR", form={}, locale="de")
    assert words == ["Gebühr: 10,00 € (unter Bedingungen).", "Gebühr: nach Ihren Angaben.",
                     "Keine Gebühr: Sozialhilfe.",
                     "Wird nicht bei der Antragstellung bezahlt, sondern per Bescheid "
                     "festgesetzt."]
    english = fee_in_words(rule, {"base": 1000}, currency="EUR", form={}, locale="en")
    assert english[0] == "Fee: €10.00 (under conditions)."
    assert fee_in_words(FeeRule(), {}, currency="EUR", form={}, locale="en") == [
        "Free of charge."]
