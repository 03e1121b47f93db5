"""ORM models of attachments (migration 0003): the metadata row of a file uploaded to a draft
(moved to its case on submit) and, for the default database storage, its content."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, LargeBinary, String, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from case_service.db import Base

__all__ = ["Attachment", "AttachmentBlob"]


class Attachment(Base):
    """A file attached to a draft or, after submission, to a case (exactly one of both)."""

    __tablename__ = "attachments"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(String(63))
    draft_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("drafts.id", ondelete="CASCADE"))
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    """The definition's attachment kind, e.g. ``proof_of_residence``."""
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    """Detected from the content, not taken from the client."""
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class AttachmentBlob(Base):
    """Content of an attachment in the default storage (the case database), written in the
    same transaction as its :class:`Attachment` row."""

    __tablename__ = "attachment_blobs"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
