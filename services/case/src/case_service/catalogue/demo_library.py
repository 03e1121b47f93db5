"""The demo library as data (``shared/DEMO.md``, "Case management"): six services, each with its
definition (and process) and parameters for ``musterstadt`` and ``beispielhausen``. Written by
:mod:`case_service.seed`; the fixed ids let tests and the README name them.

Processes: the parking permit asks the traffic authority for a check while ``in_review``, the
business registration the public order office; the dog tax exemption needs a manager's sign-off
(four eyes: a clerk proposes, a manager approves); the others use the default process.
musterstadt's parameters route those parts to ``traffic`` and ``public-order``; beispielhausen's
citizens' office answers them itself.

LeiKa keys: parking permit (99108001001000), dog tax registration (99102013104000), birth
certificate (99027002012000) and business registration (99050012104000) are the national keys
as listed by the PVOG search service. The dog tax exemption (99102013062000) and the road damage
report (99126003070000) are plausible keys in the same shape, not verified against the LeiKa.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from case_service.forms import demo_forms
from case_service.process.default import STAFF, process_data, with_parts

__all__ = [
    "DEMO_NAMESPACE",
    "DEMO_SERVICES",
    "DEMO_VALID_FROM",
    "LIBRARY",
    "DemoParameters",
    "DemoService",
    "definition_id",
    "parameters_id",
]

#: Namespace of the demo library's uuid5 ids.
DEMO_NAMESPACE: Final = uuid.UUID("5d0f6d9e-4c4b-5c7e-9b1a-0c45e0000013")
DEMO_VALID_FROM: Final = date(2026, 1, 1)
_LEIKA: Final = "urn:de:fim:leika:leistung:"
_PDF_IMAGES: Final = ["application/pdf", "image/jpeg", "image/png"]
_MB: Final = 1024 * 1024


def _service_id(slug: str) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, f"service:{slug}")


def definition_id(slug: str, version: int = 1) -> uuid.UUID:
    """The id of the demo definition ``version`` of ``slug``."""
    return uuid.uuid5(DEMO_NAMESPACE, f"definition:{slug}:{version}")


def parameters_id(tenant: str, slug: str, version: int = 1) -> uuid.UUID:
    """The id of the demo parameter set ``version`` of ``tenant`` for ``slug``."""
    return uuid.uuid5(DEMO_NAMESPACE, f"parameters:{tenant}:{slug}:{version}")


def _t(de: str, en: str) -> dict[str, str]:
    return {"de": de, "en": en}


@dataclass(frozen=True)
class DemoParameters:
    """One tenant's parameters of a demo service (valid from :data:`DEMO_VALID_FROM`)."""

    department: str
    cost_centre: str
    fee_values: dict[str, Any]
    texts: dict[str, Any]
    retention_days: int
    revenue_shares: list[dict[str, Any]] = field(default_factory=list)
    trust_level: str | None = None
    part_departments: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoService:
    """One service of the demo library (its newest seeded definition) and its tenants'
    parameters. ``process`` None: the default process."""

    slug: str
    leika: str
    names: dict[str, str]
    descriptions: dict[str, str]
    keywords: list[str]
    form_schema: dict[str, Any]
    attachments: list[dict[str, Any]]
    trust_level: str
    fee_rule: dict[str, Any]
    processing_days: int
    parameters: dict[str, DemoParameters]
    public_report: bool = False
    anonymous: bool = False
    process: dict[str, Any] | None = None

    @property
    def id(self) -> uuid.UUID:
        return _service_id(self.slug)

    @property
    def leika_key(self) -> str:
        return _LEIKA + self.leika


def _texts(tenant: str, office: tuple[str, str], legal: tuple[str, str]) -> dict[str, Any]:
    town = "Musterstadt" if tenant == "musterstadt" else "Beispielhausen"
    street = "Rathausplatz 1" if tenant == "musterstadt" else "Hauptstraße 12"
    postal = "12345" if tenant == "musterstadt" else "54321"
    return {
        "office_address": _t(f"{office[0]}, {street}, {postal} {town}",
                             f"{office[1]}, {street}, {postal} {town}"),
        "opening_hours": _t("Mo-Fr 8-12 Uhr, Do 14-18 Uhr",
                            "Mon-Fri 8 am-12 noon, Thu 2-6 pm"),
        "legal_basis": _t(*legal),
    }


_CITIZENS = ("Bürgerbüro", "Citizens' office")
_TRAFFIC = ("Straßenverkehrsbehörde", "Traffic authority")
_TAX = ("Steueramt", "Tax office")
_MS: Final = "musterstadt"
_BH: Final = "beispielhausen"
_LISTED = ["American Staffordshire Terrier", "Bullterrier", "Pitbull-Terrier",
           "Staffordshire Bullterrier"]

_PARKING_LEGAL = ("§ 45 Abs. 1b Nr. 2a StVO, Gebührensatzung Bewohnerparken",
                  "Section 45(1b) no. 2a of the Road Traffic Regulations, local fee statute")
_DOG_LEGAL = ("Hundesteuersatzung der Gemeinde", "The municipality's dog tax statute")
_BIRTH_LEGAL = ("§ 55 Personenstandsgesetz (PStG)", "Section 55 of the Civil Status Act (PStG)")
_BUSINESS_LEGAL = ("§ 14 Gewerbeordnung (GewO)", "Section 14 of the Trade Regulation Act (GewO)")
_ROAD_LEGAL = ("Straßengesetz des Landes (Verkehrssicherungspflicht)",
               "The state's roads act (duty to keep roads safe)")


def _pair(slug_legal: tuple[str, str], *, ms: tuple[str, str, tuple[str, str]],
          bh_values: dict[str, Any], ms_values: dict[str, Any], retention_days: int,
          ms_shares: list[dict[str, Any]] | None = None,
          ms_parts: dict[str, str] | None = None) -> dict[str, DemoParameters]:
    department, cost_centre, office = ms
    return {
        _MS: DemoParameters(department, cost_centre, ms_values,
                            _texts(_MS, office, slug_legal), retention_days,
                            revenue_shares=ms_shares or [], part_departments=ms_parts or {}),
        _BH: DemoParameters("citizens-office", "BB-0100", bh_values,
                            _texts(_BH, _CITIZENS, slug_legal), retention_days),
    }


def _signed_off_by_a_manager() -> dict[str, Any]:
    """The default process with a four-eyes step: a clerk proposes the approval
    (``awaiting_signoff``), a manager approves or returns the case to review."""
    data = process_data(None)
    data["states"]["awaiting_signoff"] = {
        "label": _t("Zur Freigabe vorgelegt", "Awaiting sign-off")}
    for transition in data["transitions"]:
        if transition["action"] == "approve":
            transition.update({"from": ["awaiting_signoff"], "roles": ["manager"]})
        elif transition["action"] == "withdraw" and "in_review" in transition["from"]:
            transition["from"] = [*transition["from"], "awaiting_signoff"]
    data["transitions"] += [
        {"action": "propose_approval", "label": _t("Zur Freigabe vorlegen", "Propose approval"),
         "from": ["in_review"], "to": "awaiting_signoff", "roles": STAFF},
        {"action": "return_to_review",
         "label": _t("Zurück in die Bearbeitung", "Return to review"),
         "from": ["awaiting_signoff"], "to": "in_review", "roles": ["manager"]}]
    return data


_TRAFFIC_CHECK: Final = {"key": "traffic_check", "label": _t(
    "Prüfung durch die Straßenverkehrsbehörde", "Check by the traffic authority")}
_PUBLIC_ORDER_CHECK: Final = {"key": "public_order_check", "label": _t(
    "Prüfung durch das Ordnungsamt", "Check by the public order office")}

LIBRARY: Final[tuple[DemoService, ...]] = (
    DemoService(
        slug="bewohnerparkausweis", leika="99108001001000",
        names=_t("Bewohnerparkausweis", "Resident parking permit"),
        descriptions=_t("Parkausweis für Bewohnerinnen und Bewohner einer Parkzone, gültig ein "
                        "Jahr.", "Parking permit for residents of a parking zone, valid for one "
                        "year."),
        keywords=["Parken", "Parkausweis", "Anwohner", "parking", "permit", "resident"],
        form_schema=demo_forms.PARKING_PERMIT,
        attachments=[{"kind": "proof_of_residence",
                      "label": _t("Nachweis des Wohnsitzes", "Proof of residence"),
                      "required": True, "media_types": _PDF_IMAGES, "max_bytes": 5 * _MB},
                     {"kind": "vehicle_registration",
                      "label": _t("Zulassungsbescheinigung Teil I",
                                  "Vehicle registration certificate (part I)"),
                      "required": False, "media_types": _PDF_IMAGES, "max_bytes": 5 * _MB}],
        trust_level="basic",
        fee_rule={"collect": "on_submission", "period": "year", "components": [
            {"kind": "fixed", "label": _t("Bewohnerparkausweis", "Resident parking permit"),
             "amount": "values.permit"}]},
        processing_days=10,
        parameters=_pair(_PARKING_LEGAL, ms=("citizens-office", "BB-1100", _CITIZENS),
                         ms_values={"permit": 3070}, bh_values={"permit": 12000},
                         retention_days=3 * 365,
                         ms_shares=[{"department": "traffic", "cost_centre": "SVB-6600",
                                     "percent": 30}],
                         ms_parts={"traffic_check": "traffic"}),
        process=with_parts("in_review", [_TRAFFIC_CHECK]),
    ),
    DemoService(
        slug="hundesteuer-anmeldung", leika="99102013104000",
        names=_t("Hundesteuer-Anmeldung", "Dog tax registration"),
        descriptions=_t("Anmeldung eines oder mehrerer Hunde zur Hundesteuer. Die Steuer wird "
                        "jährlich per Bescheid festgesetzt.", "Registration of one or more dogs "
                        "for dog tax. The tax is assessed annually."),
        keywords=["Hund", "Hundesteuer", "Steuer", "dog", "tax"],
        form_schema=demo_forms.DOG_TAX, attachments=[], trust_level="basic",
        fee_rule={"collect": "by_assessment", "period": "year", "components": [
            {"kind": "per_item", "label": _t("Hundesteuer", "Dog tax"), "items": "data.dogs",
             "tiers": [
                 {"label": _t("Listenhund", "Listed breed"),
                  "when": "(has(item.listed_breed) && item.listed_breed) || "
                          "item.breed in values.listed_breeds",
                  "amount": "values.listed_dog"},
                 {"label": _t("Erster Hund", "First dog"), "when": "index == 0",
                  "amount": "values.first_dog"},
                 {"label": _t("Weiterer Hund", "Further dog"),
                  "amount": "values.further_dog"}]}]},
        processing_days=15,
        parameters=_pair(_DOG_LEGAL, ms=("tax-office", "ST-2000", _TAX),
                         ms_values={"first_dog": 10800, "further_dog": 18000,
                                    "listed_dog": 60000, "listed_breeds": _LISTED},
                         bh_values={"first_dog": 9000, "further_dog": 15000,
                                    "listed_dog": 50000, "listed_breeds": _LISTED},
                         retention_days=10 * 365),
    ),
    DemoService(
        slug="hundesteuer-befreiung", leika="99102013062000",
        names=_t("Befreiung von der Hundesteuer", "Dog tax exemption"),
        descriptions=_t("Befreiung von der Hundesteuer, z. B. für Assistenz- oder "
                        "Rettungshunde.", "Exemption from dog tax, e.g. for assistance or "
                        "rescue dogs."),
        keywords=["Hund", "Hundesteuer", "Befreiung", "dog", "tax", "exemption"],
        form_schema=demo_forms.DOG_TAX_EXEMPTION,
        attachments=[{"kind": "proof", "label": _t("Nachweis", "Proof"), "required": True,
                      "media_types": _PDF_IMAGES, "max_bytes": 5 * _MB}],
        trust_level="substantial", fee_rule={"components": []}, processing_days=20,
        parameters=_pair(_DOG_LEGAL, ms=("tax-office", "ST-2000", _TAX), ms_values={},
                         bh_values={}, retention_days=10 * 365),
        process=_signed_off_by_a_manager(),
    ),
    DemoService(
        slug="geburtsurkunde", leika="99027002012000",
        names=_t("Geburtsurkunde", "Birth certificate"),
        descriptions=_t("Ausstellung einer Geburtsurkunde aus dem Geburtenregister.",
                        "Issue of a birth certificate from the register of births."),
        keywords=["Urkunde", "Geburt", "Standesamt", "certificate", "birth"],
        form_schema=demo_forms.BIRTH_CERTIFICATE, attachments=[], trust_level="substantial",
        fee_rule={"components": [
            {"kind": "per_unit", "label": _t("Geburtsurkunde", "Birth certificate"),
             "quantity": "data.copies", "amount": "values.certificate"}]},
        processing_days=5,
        parameters=_pair(_BIRTH_LEGAL, ms=("citizens-office", "BB-1100", _CITIZENS),
                         ms_values={"certificate": 1200}, bh_values={"certificate": 1500},
                         retention_days=365),
    ),
    DemoService(
        slug="gewerbeanmeldung", leika="99050012104000",
        names=_t("Gewerbeanmeldung", "Business registration"),
        descriptions=_t("Anmeldung eines Gewerbes beim Beginn der Tätigkeit.",
                        "Registration of a business when the activity starts."),
        keywords=["Gewerbe", "Betrieb", "Anmeldung", "business", "trade", "registration"],
        form_schema=demo_forms.BUSINESS_REGISTRATION, attachments=[], trust_level="basic",
        fee_rule={"components": [
            {"kind": "fixed", "label": _t("Gewerbeanmeldung", "Business registration"),
             "amount": "values.registration"}]},
        processing_days=3,
        parameters=_pair(_BUSINESS_LEGAL, ms=("citizens-office", "BB-1100", _CITIZENS),
                         ms_values={"registration": 2600}, bh_values={"registration": 2000},
                         retention_days=5 * 365,
                         ms_shares=[{"department": "public-order", "cost_centre": "OA-3200",
                                     "percent": 40}],
                         ms_parts={"public_order_check": "public-order"}),
        process=with_parts("in_review", [_PUBLIC_ORDER_CHECK]),
    ),
    DemoService(
        slug="strassenschaden", leika="99126003070000",
        names=_t("Straßenschaden melden", "Report road damage"),
        descriptions=_t("Schlaglöcher, defekte Straßenlaternen oder Schilder melden, mit Ort "
                        "und Foto.", "Report potholes, broken street lights or signs, with "
                        "location and photo."),
        keywords=["Straße", "Schlagloch", "Laterne", "Schaden", "road", "pothole",
                  "street light", "damage"],
        form_schema=demo_forms.ROAD_DAMAGE,
        attachments=[{"kind": "photo", "label": _t("Foto", "Photo"), "required": False,
                      "media_types": ["image/jpeg", "image/png"], "max_bytes": 5 * _MB}],
        trust_level="basic", fee_rule={"components": []}, processing_days=10,
        public_report=True, anonymous=True,
        parameters=_pair(_ROAD_LEGAL, ms=("traffic", "SVB-6600", _TRAFFIC), ms_values={},
                         bh_values={}, retention_days=365),
    ),
)

#: slug -> service id of the demo library.
DEMO_SERVICES: Final[dict[str, uuid.UUID]] = {service.slug: service.id for service in LIBRARY}
