"""ORM model of rules (migration 0002): which event sends which template on which channels.

A rule is ``(tenant, department or none, event type) -> template key + channels``; for an event
the department's rule wins over the tenant-wide one.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, String, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from notification_service.db import Base

__all__ = ["Rule"]


class Rule(Base):
    """One rule, kept as data and edited through the API."""

    __tablename__ = "rules"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(String(63))
    department: Mapped[str | None] = mapped_column(String(63))
    event_type: Mapped[str] = mapped_column(String(200))
    template_key: Mapped[str] = mapped_column(String(100))
    channels: Mapped[list[str]] = mapped_column(JSONB)
    legally_required: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
