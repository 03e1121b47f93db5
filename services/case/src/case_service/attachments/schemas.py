"""HTTP models of attachments: ``AttachmentRead`` (the upload itself is the raw request body)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from case_service.attachments.models import Attachment

__all__ = ["AttachmentRead"]


class AttachmentRead(BaseModel):
    """A stored file: ``media_type`` is the one detected from the content."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "8d7c2f1e-3b4a-4c5d-9e8f-0a1b2c3d4e5f", "kind": "proof_of_residence",
        "filename": "Meldebescheinigung.pdf", "media_type": "application/pdf", "size": 48213,
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "created_at": "2026-12-02T09:30:00Z"}]})

    id: uuid.UUID
    kind: str
    filename: str
    media_type: str
    size: int = Field(description="Bytes.")
    sha256: str = Field(description="Hex SHA-256 of the content.")
    created_at: datetime

    @classmethod
    def of(cls, attachment: Attachment) -> AttachmentRead:
        return cls(id=attachment.id, kind=attachment.kind, filename=attachment.filename,
                   media_type=attachment.media_type, size=attachment.size,
                   sha256=attachment.sha256, created_at=attachment.created_at)
