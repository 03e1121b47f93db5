"""ORM models of templates and their immutable versions (migration 0002).

A template is identified by ``(tenant, department, key)``; a tenant-wide one has no
department. Every save adds a version; versions are never changed, so a delivery that records
the version it used can always be explained.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from notification_service.db import Base

__all__ = ["Template", "TemplateVersion"]


class Template(Base):
    """The identity of a template and its current version number."""

    __tablename__ = "templates"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(String(63))
    department: Mapped[str | None] = mapped_column(String(63))
    key: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(255), default="")
    current_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class TemplateVersion(Base):
    """One immutable version: declared variables and the texts per locale and channel.

    ``variables`` is ``[{"name": ..., "required": bool}]``; ``content`` is
    ``{locale: {"email": {subject, text, html}, "sms": {text}, "inbox": {title, body}}}``
    as validated by :class:`~notification_service.templates.schemas.TemplateContent`.
    """

    __tablename__ = "template_versions"
    __mapper_args__ = {"eager_defaults": True}

    template_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("templates.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    variables: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
