"""ORM models of working a case (migration 0007): notes, requests for information and the
append-only audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from case_service.db import Base

__all__ = ["AuditEntry", "CaseNote", "InformationRequest"]


class CaseNote(Base):
    """A note on a case: ``internal`` (staff only) or ``public`` (the applicant sees it)."""

    __tablename__ = "case_notes"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                               ForeignKey("cases.id", ondelete="CASCADE"))
    tenant: Mapped[str] = mapped_column(String(63))
    visibility: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(100))
    """``staff:<sub>``, ``citizen:<sub>``, ``client:<id>`` or ``system``."""
    text: Mapped[str] = mapped_column(Text)
    part_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("case_parts.id", ondelete="CASCADE"))
    """Set for a note a department wrote on its part (internal to the case's staff)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class InformationRequest(Base):
    """What staff asked the applicant for, until when, and the answer. At most one is
    ``open`` per case (a partial unique index)."""

    __tablename__ = "case_information_requests"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                               ForeignKey("cases.id", ondelete="CASCADE"))
    tenant: Mapped[str] = mapped_column(String(63))
    status: Mapped[str] = mapped_column(String(16), default="open")
    """``open``, ``answered``, ``expired``, ``cancelled``."""
    note: Mapped[str] = mapped_column(Text)
    """What is missing, for the applicant (the transition's public note)."""
    fields: Mapped[list[str]] = mapped_column(JSONB, default=list)
    """Form fields (top-level property names) the applicant may change in the answer."""
    attachment_kinds: Mapped[list[str]] = mapped_column(JSONB, default=list)
    """Attachment kinds the applicant is asked to add."""
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                   server_default=func.now())
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    """``{"data": {changed fields}, "attachments": [ids], "note": text}``."""
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """One action on a case: who, when, what, the relevant state before and after. The
    database refuses updates and deletes (except the retention purge, see migration 0007)."""

    __tablename__ = "case_audit"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                               ForeignKey("cases.id", ondelete="CASCADE"))
    tenant: Mapped[str] = mapped_column(String(63))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    correlation_id: Mapped[str | None] = mapped_column(String(128))
