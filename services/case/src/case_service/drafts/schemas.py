"""HTTP models of drafts: ``DraftCreate`` / ``DraftUpdate`` / ``DraftRead`` and the list page."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from case_service.attachments.schemas import AttachmentRead
from case_service.fees import FeeQuote

__all__ = [
    "DraftCreate",
    "DraftList",
    "DraftRead",
    "DraftUpdate",
    "FormFieldRead",
    "FormRead",
    "ServiceRef",
    "VerifiedMark",
]

FormData = dict[str, JsonValue]


class DraftCreate(BaseModel):
    """Start an application for a library service of the caller's tenant."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "service_id": "5142c013-1628-5691-9a0a-23784e4dc8f9",  # the demo parking permit
        "data": {"vehicle_registration": "MS-AB 123"}}]})

    service_id: uuid.UUID
    tenant: str | None = Field(
        default=None, max_length=63,
        description="Defaults to the caller's tenant (the only one allowed).")
    data: FormData | None = Field(default=None, description="Entries to start with; they win "
                                  "over prefilled values.")
    account_id: uuid.UUID | None = Field(
        default=None, description="City systems only: the citizen applied for.")


class DraftUpdate(BaseModel):
    """A JSON merge patch (RFC 7396) of the form data: ``null`` removes an entry. The draft
    object as read may be sent back whole: members other than ``data`` are ignored."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{
        "data": {"vehicle_registration": "MS-CD 456", "remarks": None}}]})

    data: FormData


class ServiceRef(BaseModel):
    id: uuid.UUID
    leika_key: str
    names: dict[str, str]


class FormFieldRead(BaseModel):
    """A top-level field, labelled in the caller's language."""

    name: str
    label: str
    help: str | None
    required: bool
    prefill: str | None = Field(description="The identity attribute that fills it, if any.")


class FormRead(BaseModel):
    """The form of the pinned definition version: its fields and the JSON Schema."""

    fields: list[FormFieldRead]
    json_schema: dict[str, JsonValue] = Field(serialization_alias="schema")


class VerifiedMark(BaseModel):
    """A field filled from a verified identity attribute (until the applicant changes it)."""

    attribute: str
    level: Literal["basic", "substantial", "high"]
    source: str


class FieldErrorRead(BaseModel):
    pointer: str
    code: str
    message: str


class DraftRead(BaseModel):
    """A draft as its owner sees it; ``errors`` is the partial validation (missing entries are
    not errors yet), ``fee`` the preview for the data so far (null when not computable)."""

    id: uuid.UUID
    tenant: str
    service: ServiceRef
    definition_version: int
    status: Literal["open", "submitted"]
    case_id: uuid.UUID | None
    account_id: uuid.UUID | None
    form: FormRead
    data: FormData
    verified: dict[str, VerifiedMark] = Field(description="JSON pointer -> provenance.")
    prefill: Literal["applied", "unavailable", "not_applicable"] | None = Field(
        default=None, description="On creation only: whether identity's attributes were used.")
    errors: list[FieldErrorRead]
    fee: FeeQuote | None
    attachments: list[AttachmentRead]
    version: int
    created_at: datetime
    updated_at: datetime
    expires_at: datetime


class DraftList(BaseModel):
    """A page of the caller's drafts, newest first; ``next_cursor`` fetches the next one."""

    items: list[DraftRead]
    next_cursor: str | None = None
