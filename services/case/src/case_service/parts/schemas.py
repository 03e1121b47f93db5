"""HTTP models of parts: a part as its department reads it, a page of parts, the part with the
minimal view of its case, and an answer."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, field_validator
from pydantic.config import JsonDict

from case_service.cases.schemas import AttachmentMeta

__all__ = ["ANSWER_DATA_MAX_BYTES", "PartAnswer", "PartAnswerCreate", "PartCase", "PartDetail",
           "PartList", "PartRead"]

ANSWER_DATA_MAX_BYTES: Final = 16_384
_PART: Final = "0c9b8a7f-6e5d-4c3b-a291-8f7e6d5c4b3a"
_CASE: Final = "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
_PART_EXAMPLE: Final[JsonDict] = {
    "id": _PART, "case_id": _CASE, "case_number": "MS-2026-000123", "tenant": "musterstadt",
    "department": "traffic", "key": "traffic_check", "step": "in_review", "position": 0,
    "status": "open", "due_at": "2026-06-13T09:00:00Z", "opened_at": "2026-06-03T09:00:00Z",
    "answered_at": None, "answered_by": None, "answer": None, "version": 1,
    "created_at": "2026-06-03T09:00:00Z"}


class PartAnswerCreate(BaseModel):
    """The asked department's answer: ``agreed`` or ``objection``, an optional note for the
    responsible department and optional structured data (at most 16 KiB as JSON)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "result": "agreed", "note": "Keine Einwände.", "data": {"zone": "B"}}]})

    result: Literal["agreed", "objection"]
    note: Annotated[str, StringConstraints(min_length=1, max_length=4000)] | None = None
    data: dict[str, JsonValue] | None = None

    @field_validator("note")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("the note contains a NUL character")
        return value

    @field_validator("data")
    @classmethod
    def _small(cls, value: dict[str, JsonValue] | None) -> dict[str, JsonValue] | None:
        if value is None:
            return None
        encoded = json.dumps(value, ensure_ascii=False)
        if len(encoded.encode()) > ANSWER_DATA_MAX_BYTES:
            raise ValueError(f"data is larger than {ANSWER_DATA_MAX_BYTES} bytes as JSON")
        if "\\u0000" in encoded:
            raise ValueError("data contains a NUL character")
        return value


class PartAnswer(BaseModel):
    result: Literal["agreed", "objection"]
    note: str | None = None
    data: dict[str, JsonValue] | None = None


class PartRead(BaseModel):
    """A part as the staff of its department read it. ``version`` is the ``ETag`` for
    ``If-Match`` on the answer."""

    model_config = ConfigDict(json_schema_extra={"examples": [_PART_EXAMPLE]})

    id: uuid.UUID
    case_id: uuid.UUID
    case_number: str
    tenant: str
    department: str
    """The department asked."""
    key: str
    step: str
    """The state of the case's process that opened it."""
    position: int
    status: Literal["waiting", "open", "answered", "cancelled"]
    due_at: datetime | None
    opened_at: datetime | None
    answered_at: datetime | None
    answered_by: str | None
    answer: PartAnswer | None
    version: int
    created_at: datetime


class PartList(BaseModel):
    items: list[PartRead]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on "
                                                "the last one.")


class PartCase(BaseModel):
    """What the asked department sees of the case: enough to check it, nothing more (no
    notes, history, documents or applicant account)."""

    id: uuid.UUID
    number: str
    service_id: uuid.UUID
    service_name: dict[str, str]
    """``{"de": ..., "en": ...}``."""
    status: str
    submitted_at: datetime
    data: dict[str, JsonValue]
    attachments: list[AttachmentMeta]
    """Each downloadable through the part (``/parts/{part_id}/attachments/{id}``)."""


class PartDetail(PartRead):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_PART_EXAMPLE, "label": {"de": "Prüfung Verkehrsbehörde", "en": "Traffic check"},
        "case": {"id": _CASE, "number": "MS-2026-000123",
                 "service_id": "0b1c2d3e-4f5a-4b6c-9d7e-8f9a0b1c2d3e",
                 "service_name": {"de": "Bewohnerparkausweis",
                                  "en": "Resident parking permit"},
                 "status": "in_review", "submitted_at": "2026-06-01T10:15:00Z",
                 "data": {"licence_plate": "M-AB 123"}, "attachments": []}}]})

    label: dict[str, str] | None
    """The part's label from the process (``de``, ``en``), if the process still names it."""
    case: PartCase
