"""HTTP models of the library (platform-wide service definitions): ``ServiceCreate``,
``DefinitionCreate`` (a new version), ``LibraryServiceRead``, ``DefinitionRead``. Shapes only; the
rules a definition must pass are checked in :mod:`case_service.catalogue.library`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from case_service.catalogue.demo_library import LIBRARY
from case_service.catalogue.models import Service, ServiceDefinition
from case_service.fees import FeeRule
from case_service.process.default import DEFAULT_PROCESS, DEFAULT_PROCESS_DATA
from case_service.process.spec import ProcessSpec

__all__ = [
    "AttachmentSpec",
    "DefinitionCreate",
    "DefinitionRead",
    "LibraryServiceList",
    "LibraryServiceRead",
    "LocalizedText",
    "ServiceCreate",
    "ShortText",
    "TrustLevel",
]

TrustLevel: TypeAlias = Literal["basic", "substantial", "high"]
_Kind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$"),
                  Field(examples=["proof_of_residence"])]
_ServiceSlug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"),
                         Field(examples=["bewohnerparkausweis"])]
_Keyword = Annotated[str, StringConstraints(min_length=1, max_length=60)]
_MediaType = Annotated[str, StringConstraints(min_length=3, max_length=100),
                       Field(examples=["application/pdf"])]

_PARKING = LIBRARY[0]
_DOG_TAX = LIBRARY[1]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ShortText(_Model):
    """A short text (a name, a label) in German and English."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"de": "Bewohnerparkausweis", "en": "Resident parking permit"}]})

    de: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    en: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class LocalizedText(_Model):
    """A longer text (a description) in German and English."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [dict[str, Any](_PARKING.descriptions)]})

    de: Annotated[str, StringConstraints(min_length=1, max_length=4000)]
    en: Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class AttachmentSpec(_Model):
    """A kind of document the service asks for: ``media_types`` from the allowed list
    (PDF, JPEG, PNG, TIFF, HEIC, WebP), ``max_bytes`` at most the service-wide limit."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [_PARKING.attachments[0]]})

    kind: _Kind
    label: ShortText
    required: bool = False
    media_types: Annotated[list[_MediaType], Field(min_length=1, max_length=10)]
    max_bytes: Annotated[int, Field(ge=1)]


def _definition_example(service: Any) -> dict[str, Any]:
    return {"names": service.names, "descriptions": service.descriptions,
            "keywords": service.keywords, "form_schema": service.form_schema,
            "attachments": service.attachments, "trust_level": service.trust_level,
            "fee_rule": service.fee_rule, "processing_days": service.processing_days,
            "public_report": service.public_report, "anonymous": service.anonymous,
            "process": service.process}


class DefinitionCreate(_Model):
    """A definition version: form (JSON Schema 2020-12 with ``x-label``/``x-order``/...),
    attachments, minimum trust level, the fee rule (its ``values.<name>`` are set per tenant in
    the parameters), target processing time in working days, the process (None: the default
    process; checked when saved, 422 ``invalid_process`` with a pointer per finding).
    ``anonymous`` only with ``public_report``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [_definition_example(_PARKING)]})

    names: ShortText
    descriptions: LocalizedText
    keywords: Annotated[list[_Keyword], Field(max_length=40)] = []
    form_schema: dict[str, Any]
    attachments: Annotated[list[AttachmentSpec], Field(max_length=20)] = []
    trust_level: TrustLevel = "basic"
    fee_rule: FeeRule = FeeRule()
    processing_days: Annotated[int, Field(ge=1, le=365)]
    public_report: bool = False
    anonymous: bool = False
    process: ProcessSpec | None = None


class ServiceCreate(DefinitionCreate):
    """A new library service and its first definition version. ``leika_key``:
    ``urn:de:fim:leika:leistung:<14 digits>`` (422 ``invalid_leika_key``); key and slug are
    unique (409 ``service_exists``)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "leika_key": _DOG_TAX.leika_key, "slug": _DOG_TAX.slug,
        **_definition_example(_DOG_TAX)}]})

    leika_key: Annotated[str, StringConstraints(max_length=64),
                         Field(examples=[_DOG_TAX.leika_key])]
    slug: _ServiceSlug


_DEFINITION_READ: dict[str, Any] = {
    "id": "0b9c1a52-8d0e-5d7b-a2c4-2f0f4b7d9e11",
    "service_id": "6a3d9c15-1b1e-5f3a-9a44-0d1c4f2b7e55", "version": 1,
    **_definition_example(_PARKING), "process": _PARKING.process or DEFAULT_PROCESS_DATA,
    "created_at": "2026-01-01T08:00:00Z", "created_by": "seed:demo-library"}


class DefinitionRead(BaseModel):
    """One immutable definition version; ``process`` is the one its cases follow (the stored
    one, or the default process)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_DEFINITION_READ]})

    id: uuid.UUID
    service_id: uuid.UUID
    version: int
    names: ShortText
    descriptions: LocalizedText
    keywords: list[str]
    form_schema: dict[str, Any]
    attachments: list[AttachmentSpec]
    trust_level: TrustLevel
    fee_rule: FeeRule
    processing_days: int
    public_report: bool
    anonymous: bool
    process: ProcessSpec
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, definition: ServiceDefinition) -> DefinitionRead:
        return cls(id=definition.id, service_id=definition.service_id, version=definition.version,
                   names=ShortText.model_validate(definition.names),
                   descriptions=LocalizedText.model_validate(definition.descriptions),
                   keywords=definition.keywords, form_schema=definition.form_schema,
                   attachments=[AttachmentSpec.model_validate(a) for a in definition.attachments],
                   trust_level=definition.trust_level,
                   fee_rule=FeeRule.model_validate(definition.fee_rule),
                   processing_days=definition.processing_days,
                   public_report=definition.public_report, anonymous=definition.anonymous,
                   process=(DEFAULT_PROCESS if definition.process is None
                            else ProcessSpec.model_validate(definition.process)),
                   created_at=definition.created_at, created_by=definition.created_by)


class LibraryServiceRead(BaseModel):
    """A library service with its newest definition version."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "6a3d9c15-1b1e-5f3a-9a44-0d1c4f2b7e55", "leika_key": _PARKING.leika_key,
        "slug": _PARKING.slug, "latest_version": 1, "definition": _DEFINITION_READ}]})

    id: uuid.UUID
    leika_key: str
    slug: str
    latest_version: int
    definition: DefinitionRead

    @classmethod
    def of(cls, service: Service, definition: ServiceDefinition) -> LibraryServiceRead:
        return cls(id=service.id, leika_key=service.leika_key, slug=service.slug,
                   latest_version=service.latest_version, definition=DefinitionRead.of(definition))


class LibraryServiceList(BaseModel):
    """The library, ordered by slug."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [{
        "id": "6a3d9c15-1b1e-5f3a-9a44-0d1c4f2b7e55", "leika_key": _PARKING.leika_key,
        "slug": _PARKING.slug, "latest_version": 1, "definition": _DEFINITION_READ}]}]})

    items: list[LibraryServiceRead]
