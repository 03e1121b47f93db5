"""HTTP models of working a case: an action's body (``ActionCreate``), the actions a caller may
take (``ActionRead``), assignment, notes and the audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from city_shared.dates import CalendarDate

__all__ = [
    "ActionCreate",
    "ActionRead",
    "AssignCreate",
    "AuditEntryRead",
    "AuditList",
    "InformationSpec",
    "NoteCreate",
    "NoteList",
    "NoteRead",
]

NoteText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]


class InformationSpec(BaseModel):
    """What staff ask the applicant for: form ``fields`` the applicant may change, attachment
    ``attachment_kinds`` to add, and the ``deadline`` (a day; default: the state's deadline)."""

    model_config = ConfigDict(extra="forbid")

    fields: Annotated[list[Name], Field(max_length=50)] = Field(default_factory=list)
    attachment_kinds: Annotated[list[Name], Field(max_length=20)] = Field(default_factory=list)
    deadline: CalendarDate | None = None


class ActionCreate(BaseModel):
    """The body of ``POST /cases/{id}/actions/{action}`` (every member optional; the action
    says which it needs)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "public_note": "Bitte reichen Sie die Zulassungsbescheinigung Teil I nach.",
        "internal_note": "Kennzeichen im Antrag unleserlich.",
        "information": {"fields": ["vehicle_registration"],
                        "attachment_kinds": ["proof_of_residence"],
                        "deadline": "2026-06-17"}}]})

    public_note: NoteText | None = None
    """For the applicant (required where the action says ``public_note``)."""
    internal_note: NoteText | None = None
    """For staff only."""
    information: InformationSpec | None = None
    """With an action that requests information."""
    outcome: Annotated[dict[str, Any], Field(max_length=20)] | None = None
    """With a decision: what an approval grants (e.g. ``permit_number``, ``valid_until``)."""
    data: Annotated[dict[str, Any], Field(max_length=50)] | None = None
    """With the applicant's answer: the requested fields' new values."""


class ActionRead(BaseModel):
    """An action the caller may take now."""

    action: str
    label: str
    public_note: bool
    information_request: bool


class AssignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: uuid.UUID | None
    """The staff member's account id (``sub``), or null to release the case."""


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    visibility: Literal["internal", "public"]
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=4000)]


class NoteRead(BaseModel):
    id: uuid.UUID
    visibility: str
    author: str
    text: str
    created_at: datetime


class NoteList(BaseModel):
    items: list[NoteRead]


class AuditEntryRead(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    correlation_id: str | None


class AuditList(BaseModel):
    items: list[AuditEntryRead]
