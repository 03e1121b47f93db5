"""ORM model of parts (migration 0007): a contribution another department makes to a case
(the shared folder), e.g. the traffic department's check of a resident parking permit."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from case_service.db import Base

__all__ = ["CasePart"]


class CasePart(Base):
    """One part of a case, asked of ``department`` (of the case's tenant)."""

    __tablename__ = "case_parts"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                               ForeignKey("cases.id", ondelete="CASCADE"))
    tenant: Mapped[str] = mapped_column(String(63))
    department: Mapped[str] = mapped_column(String(63))
    """The department asked (from the parameters' ``part_departments``)."""
    key: Mapped[str] = mapped_column(String(63))
    """The process's part key, e.g. ``traffic_check``; unique per case."""
    step: Mapped[str] = mapped_column(String(63))
    """The state that opened it."""
    position: Mapped[int] = mapped_column(Integer)
    """Its place in the state's parts (the order of a ``sequence``)."""
    status: Mapped[str] = mapped_column(String(16))
    """``waiting`` (a sequence's later part), ``open``, ``answered``, ``cancelled`` (the case
    ended before it was answered)."""
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    """``{"result": "agreed" | "objection", "note": text, "data": {...}}``."""
    answered_by: Mapped[str | None] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
