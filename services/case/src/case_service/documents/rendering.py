"""What a decision letter says about its case: the template variables (case, applicant,
office, tenant) and the letter's fixed parts (letterhead, recipient, outcome table), both in the
case's locale. Reads nothing itself: the caller passes the rows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from case_service.cases.models import Case
from case_service.catalogue.models import ServiceDefinition, ServiceParameters
from case_service.documents.pdf import Letter
from case_service.documents.templates import format_date

__all__ = ["context_of", "letter_of", "locale_of", "tenant_name"]

_OUTCOME_LABELS: Final = {
    "permit_number": ("Ausweisnummer", "Permit number"),
    "valid_from": ("Gültig ab", "Valid from"),
    "valid_until": ("Gültig bis", "Valid until"),
    "tax_number": ("Steuernummer", "Tax number"),
    "amount": ("Betrag", "Amount"),
    "reference": ("Zeichen", "Reference"),
}


def locale_of(case: Case) -> str:
    """``en`` for a case in English, else ``de``."""
    return "en" if (case.locale or "de").startswith("en") else "de"


def tenant_name(tenant: str) -> str:
    """A readable name of a tenant from its slug (``bad-beispiel`` -> ``Bad Beispiel``)."""
    return tenant.replace("-", " ").title()


def _text(texts: dict[str, Any], key: str, locale: str) -> str:
    value = texts.get(key)
    if isinstance(value, dict):
        return str(value.get(locale) or value.get("de") or "")
    return "" if value is None else str(value)


def _day(value: datetime | None, locale: str) -> str:
    return "" if value is None else format_date(value.date(), locale)


def _applicant(case: Case) -> dict[str, Any]:
    data = case.data or {}
    name = case.applicant_name or " ".join(
        str(data[k]) for k in ("given_name", "family_name") if data.get(k)) or ""
    street = str(data.get("street_address") or "")
    postal = str(data.get("postal_code") or "")
    locality = str(data.get("locality") or "")
    lines = [line for line in (street, f"{postal} {locality}".strip()) if line]
    return {"name": name, "street_address": street, "postal_code": postal,
            "locality": locality, "address_lines": lines}


def context_of(case: Case, definition: ServiceDefinition, parameters: ServiceParameters,
               now: datetime) -> dict[str, Any]:
    """The template variables for ``case`` (see :func:`.templates.sample_context`)."""
    locale = locale_of(case)
    return {
        "locale": locale,
        "case": {"number": case.number,
                 "service": str(definition.names.get(locale) or definition.names.get("de")),
                 "submitted_at": _day(case.submitted_at, locale),
                 "decided_at": _day(case.decided_at or now, locale),
                 "decision": case.decision or "", "approved": case.decision == "approved",
                 "outcome": dict(case.outcome or {})},
        "applicant": _applicant(case),
        "office": {key: _text(parameters.texts, source, locale) for key, source in (
            ("address", "office_address"), ("opening_hours", "opening_hours"),
            ("legal_basis", "legal_basis"))},
        "tenant": {"slug": case.tenant, "name": tenant_name(case.tenant)},
    }


def _value(value: object, locale: str) -> str:
    if isinstance(value, str) and len(value) == 10:
        try:
            return format_date(date.fromisoformat(value), locale)
        except ValueError:
            return value
    if isinstance(value, bool):
        return ("ja" if value else "nein") if locale == "de" else ("yes" if value else "no")
    return "" if value is None else str(value)


def _outcome_rows(outcome: dict[str, Any] | None, locale: str) -> list[tuple[str, str]]:
    rows = []
    for key, value in (outcome or {}).items():
        if isinstance(value, dict | list):
            continue
        labels = _OUTCOME_LABELS.get(key)
        label = labels[0 if locale == "de" else 1] if labels else key.replace("_", " ").capitalize()
        rows.append((label, _value(value, locale)))
    return rows


def letter_of(case: Case, context: dict[str, Any], now: datetime) -> Letter:
    """The fixed parts of ``case``'s decision letter (``context`` from :func:`context_of`)."""
    locale = context["locale"]
    applicant = context["applicant"]
    office = context["office"]
    return Letter(
        locale=locale, tenant_name=context["tenant"]["name"], office_address=office["address"],
        opening_hours=office["opening_hours"], legal_basis=office["legal_basis"],
        recipient=[line for line in [applicant["name"], *applicant["address_lines"]] if line],
        date=context["case"]["decided_at"], case_number=case.number,
        outcome=_outcome_rows(case.outcome, locale) if case.decision == "approved" else [],
        created_at=now)
