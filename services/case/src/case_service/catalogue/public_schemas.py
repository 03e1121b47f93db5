"""HTTP models of the public catalogue (no token): ``PublicServiceRead`` (a list item),
``PublicServiceDetail`` (with the effective form, fee in words, documents, local texts) and
the fee preview (``FeePreviewCreate`` / ``FeePreviewRead``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from case_service.catalogue.demo_library import LIBRARY
from case_service.catalogue.schemas import LocalizedText, ShortText, TrustLevel
from case_service.fees import Collect, Period

__all__ = [
    "FeePreviewCreate",
    "FeePreviewLine",
    "FeePreviewRead",
    "PublicAttachment",
    "PublicForm",
    "PublicFormFieldRead",
    "PublicServiceDetail",
    "PublicServiceList",
    "PublicServiceRead",
    "PublicStep",
]

_BIRTH = LIBRARY[3]
_ITEM: dict[str, Any] = {
    "id": str(_BIRTH.id), "leika_key": _BIRTH.leika_key, "slug": _BIRTH.slug,
    "names": _BIRTH.names, "fee": ["Geburtsurkunde: 12,00 € je Einheit (Anzahl der "
                                   "Ausfertigungen)."], "trust_level": "substantial"}


class PublicServiceRead(BaseModel):
    """A service the tenant offers today; ``fee`` in the requested language."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ITEM]})

    id: uuid.UUID
    leika_key: str
    slug: str
    names: ShortText
    fee: list[str]
    trust_level: TrustLevel


class PublicServiceList(BaseModel):
    """One page, newest services first; pass ``next_cursor`` back as ``cursor``."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_ITEM],
                                                               "next_cursor": None}]})

    items: list[PublicServiceRead]
    next_cursor: str | None


class PublicFormFieldRead(BaseModel):
    """A top-level form field, labelled in the requested language; ``prefill`` names the
    verified identity attribute a draft fills it from."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "name": "copies", "label": "Anzahl der Ausfertigungen", "help": None,
        "required": True, "prefill": None}]})

    name: str
    label: str
    help: str | None
    required: bool
    prefill: str | None


class PublicForm(BaseModel):
    """The effective form: the JSON Schema (2020-12) and its fields in order."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "schema": {"type": "object", "properties": {"copies": {"type": "integer"}}},
        "fields": [PublicFormFieldRead.model_json_schema()["examples"][0]]}]})

    json_schema: dict[str, Any] = Field(alias="schema", serialization_alias="schema")
    fields: list[PublicFormFieldRead]


class PublicAttachment(BaseModel):
    """A document to attach."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "kind": "proof_of_residence", "label": "Nachweis des Wohnsitzes", "required": True,
        "media_types": ["application/pdf", "image/jpeg", "image/png"],
        "max_bytes": 5242880}]})

    kind: str
    label: str
    required: bool
    media_types: list[str]
    max_bytes: int


class PublicStep(BaseModel):
    """A state of the service's process, as the citizen's case shows it (``state`` is the
    case's ``status``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"state": "in_review", "label": "In Bearbeitung"}]})

    state: str
    label: str


class PublicServiceDetail(PublicServiceRead):
    """Everything a citizen needs before applying, as in force today for this tenant."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_ITEM, "descriptions": dict[str, Any](_BIRTH.descriptions), "locale": "de",
        "definition_version": 1,
        "form": PublicForm.model_json_schema()["examples"][0], "collect": "on_submission",
        "period": "once", "currency": "EUR", "attachments": [],
        "texts": {"office_address": "Bürgerbüro, Rathausplatz 1, 12345 Musterstadt"},
        "department": "citizens-office", "processing_days": 5, "public_report": False,
        "anonymous": False, "steps": [
            {"state": "awaiting_payment", "label": "Zahlung ausstehend"},
            {"state": "submitted", "label": "Eingegangen"},
            {"state": "in_review", "label": "In Bearbeitung"},
            {"state": "information_requested", "label": "Angaben nachgefordert"},
            {"state": "approved", "label": "Bewilligt"},
            {"state": "rejected", "label": "Abgelehnt"},
            {"state": "withdrawn", "label": "Zurückgezogen"}]}]})

    descriptions: LocalizedText
    locale: str
    definition_version: int
    form: PublicForm
    collect: Collect
    period: Period
    currency: str
    attachments: list[PublicAttachment]
    texts: dict[str, str]
    department: str
    processing_days: int
    public_report: bool
    anonymous: bool
    steps: list[PublicStep]
    """The states of its process in the order a case meets them (the payment only if a fee
    is collected on submission), then the decisions and the withdrawal."""


class FeePreviewCreate(BaseModel):
    """The form data (partial is fine as long as the fee rule finds what it reads)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "data": {"dogs": [{"name": "Bello", "breed": "Dackel"},
                          {"name": "Rex", "breed": "Schäferhund"}]}}]})

    data: Annotated[dict[str, Any], Field(max_length=200)]


class FeePreviewLine(BaseModel):
    """One line: ``amount == quantity * unit_amount`` cents; ``label`` in the requested
    language."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "label": "Erster Hund", "quantity": 1, "unit_amount": 10800, "amount": 10800}]})

    label: str
    quantity: int
    unit_amount: int
    amount: int


class FeePreviewRead(BaseModel):
    """What the fee comes to for this data (cents); ``due_now`` is paid with the submission
    (0 when it is assessed later); ``exempt`` names the exemption that applies."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "amount": 28800, "currency": "EUR", "due_now": 0, "collect": "by_assessment",
        "period": "year", "exempt": None, "breakdown": [
            {"label": "Erster Hund", "quantity": 1, "unit_amount": 10800, "amount": 10800},
            {"label": "Weiterer Hund", "quantity": 1, "unit_amount": 18000, "amount": 18000}]}]})

    amount: int
    currency: str
    due_now: int
    collect: Collect
    period: Period
    exempt: str | None
    breakdown: list[FeePreviewLine]
