"""Demo decision templates: a library default in German and English for every demo service
(approval or rejection wording chosen by ``case.approved``) and musterstadt's own template of
the resident parking permit, which shows a tenant's version winning over the library's."""

from __future__ import annotations

import uuid
from typing import Any, Final

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.catalogue.demo_library import DEMO_NAMESPACE, DEMO_SERVICES
from case_service.documents.models import DocumentTemplate

__all__ = ["SEEDED_BY", "demo_templates", "seed_document_templates", "template_id"]

SEEDED_BY: Final = "seed:demo-document-templates"

_GRANTED: Final = {
    "bewohnerparkausweis": ("Der Bewohnerparkausweis wird Ihnen erteilt.",
                            "You are granted the resident parking permit."),
    "hundesteuer-anmeldung": ("Ihr Hund ist zur Hundesteuer angemeldet. Die Steuer setzen wir "
                              "mit gesondertem Bescheid fest.",
                              "Your dog is registered for dog tax. The tax will be assessed "
                              "in a separate notice."),
    "hundesteuer-befreiung": ("Sie werden von der Hundesteuer befreit.",
                              "You are exempted from dog tax."),
    "geburtsurkunde": ("Die beantragte Geburtsurkunde wird ausgestellt und Ihnen zugesandt.",
                       "The birth certificate you applied for is issued and sent to you."),
    "gewerbeanmeldung": ("Ihre Gewerbeanmeldung ist eingegangen und bestätigt.",
                         "Your business registration has been received and is confirmed."),
    "strassenschaden": ("Der gemeldete Schaden wird behoben.",
                        "The reported damage will be repaired."),
}

_OUTCOME_DE = ("{% if case.approved and case.outcome.valid_until is defined %}Gültig bis "
               "{{ case.outcome.valid_until | date }}.{% endif %}")
_OUTCOME_EN = ("{% if case.approved and case.outcome.valid_until is defined %}Valid until "
               "{{ case.outcome.valid_until | date }}.{% endif %}")


def _content(granted: tuple[str, str], *, extra_de: str = "",
             extra_en: str = "") -> dict[str, Any]:
    return {
        "de": {
            "title": "{% if case.approved %}Bescheid{% else %}Ablehnungsbescheid{% endif %}",
            "subject": "Ihr Antrag auf {{ case.service }} vom {{ case.submitted_at }}",
            "body": [
                "Guten Tag {{ applicant.name | default('') }},",
                "{% if case.approved %}" + granted[0] + "{% else %}Ihrem Antrag können wir "
                "leider nicht entsprechen. Die Gründe haben wir Ihnen in Ihrem Vorgang "
                "{{ case.number }} mitgeteilt.{% endif %}",
                _OUTCOME_DE, extra_de,
            ],
            "closing": "Mit freundlichen Grüßen\nIhre Stadt {{ tenant.name }}",
            "legal_remedy": "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe "
                            "Widerspruch erhoben werden. Der Widerspruch ist schriftlich oder "
                            "zur Niederschrift bei {{ office.address }} einzulegen.",
        },
        "en": {
            "title": "{% if case.approved %}Decision{% else %}Decision of refusal{% endif %}",
            "subject": "Your application for {{ case.service }} of {{ case.submitted_at }}",
            "body": [
                "Dear {{ applicant.name | default('applicant') }},",
                "{% if case.approved %}" + granted[1] + "{% else %}We regret that we cannot "
                "grant your application. We have told you the reasons in your case "
                "{{ case.number }}.{% endif %}",
                _OUTCOME_EN, extra_en,
            ],
            "closing": "Kind regards\nThe City of {{ tenant.name }}",
            "legal_remedy": "You may object to this decision within one month of its "
                            "notification, in writing or on record at {{ office.address }}.",
        },
    }


def template_id(slug: str, tenant: str | None) -> uuid.UUID:
    """The fixed id of a demo template (version 1) of ``slug`` for ``tenant`` (None: the
    library's)."""
    return uuid.uuid5(DEMO_NAMESPACE, f"document-template:{tenant or 'library'}:{slug}:1")


def demo_templates() -> list[dict[str, Any]]:
    """The rows :func:`seed_document_templates` inserts."""
    rows = [{"id": template_id(slug, None), "tenant": None, "service_id": service_id,
             "kind": "decision", "version": 1, "content": _content(_GRANTED[slug]),
             "created_by": SEEDED_BY}
            for slug, service_id in DEMO_SERVICES.items() if slug in _GRANTED]
    rows.append({
        "id": template_id("bewohnerparkausweis", "musterstadt"), "tenant": "musterstadt",
        "service_id": DEMO_SERVICES["bewohnerparkausweis"], "kind": "decision", "version": 1,
        "content": _content(
            ("Der Bewohnerparkausweis für die Parkzone Ihrer Wohnung wird Ihnen erteilt. "
             "Legen Sie ihn gut sichtbar hinter die Windschutzscheibe.",
             "You are granted the resident parking permit for the zone you live in. Display "
             "it clearly behind the windscreen."),
            extra_de="Musterstadt: Ihr Ausweis gilt nur in der Zone, in der Sie gemeldet sind.",
            extra_en="Musterstadt: your permit is valid only in the zone you are registered "
                     "in."),
        "created_by": SEEDED_BY})
    return rows


async def seed_document_templates(session: AsyncSession) -> None:
    """Insert the demo templates that are missing (the demo library must exist). Idempotent:
    ``ON CONFLICT DO NOTHING`` also against a version a platform admin or tenant wrote
    already, which then stays as it is. Never commits."""
    await session.execute(insert(DocumentTemplate).values(demo_templates())
                          .on_conflict_do_nothing())
