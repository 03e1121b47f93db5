"""ORM model of a draft (migration 0003): form data saved partially, pinned to the definition
version it was started with, until it is submitted (then it points at its case) or expires."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from case_service.db import Base

__all__ = ["Draft"]


class Draft(Base):
    """An application being filled in by a citizen (or a city system on a citizen's behalf)."""

    __tablename__ = "drafts"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(String(63))
    service_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("services.id"))
    definition_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                                     ForeignKey("service_definitions.id"))
    owner: Mapped[str] = mapped_column(String(100))
    """Who may read and change it: ``citizen:<account id>`` or ``client:<client id>``."""
    account_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    """The applicant's account (the citizen, or the one a city system applies for)."""
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    verified: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    """JSON pointer -> ``{"attribute", "level", "source"}`` of fields prefilled from identity."""
    locale: Mapped[str] = mapped_column(String(5), default="de")
    version: Mapped[int] = mapped_column(Integer, default=1)
    submitted_case_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    """Set once, when the draft became a case; a submitted draft is read-only."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
