"""ORM models of the library and the parameters (migration 0002).

- :class:`Service`: one entry of the platform-wide library, a stable id and LeiKa key.
- :class:`ServiceDefinition`: an immutable version of a service's definition (form, required
  attachments, minimum trust level, fee rule, process, target processing time). The newest
  version is the one new drafts use; a draft and a case keep the version they started with.
- :class:`ServiceParameters`: one tenant's local settings of a service, valid on the dates
  ``[valid_from, valid_to)`` (``valid_to`` None: open-ended). Validity ranges of one
  (tenant, service) never overlap (an exclusion constraint guards it).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from case_service.db import Base

__all__ = ["Service", "ServiceDefinition", "ServiceParameters"]


class Service(Base):
    """A library entry: the stable identity of an administrative service across versions."""

    __tablename__ = "services"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    leika_key: Mapped[str] = mapped_column(String(64), unique=True)
    """``urn:de:fim:leika:leistung:<14 digits>``."""
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    """A readable name for URLs and Open311's ``service_code``, e.g. ``bewohnerparkausweis``."""
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class ServiceDefinition(Base):
    """One immutable version of a service's definition."""

    __tablename__ = "service_definitions"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    service_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("services.id"))
    version: Mapped[int] = mapped_column(Integer)
    names: Mapped[dict[str, str]] = mapped_column(JSONB)
    """``{"de": ..., "en": ...}``."""
    descriptions: Mapped[dict[str, str]] = mapped_column(JSONB)
    keywords: Mapped[list[str]] = mapped_column(JSONB, default=list)
    form_schema: Mapped[dict[str, Any]] = mapped_column(JSONB)
    """JSON Schema 2020-12 with the presentation extensions of :mod:`case_service.forms`."""
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    """The attachments it asks for (:class:`~case_service.catalogue.schemas.AttachmentSpec`)."""
    trust_level: Mapped[str] = mapped_column(String(16))
    fee_rule: Mapped[dict[str, Any]] = mapped_column(JSONB)
    """A :class:`~case_service.fees.FeeRule`; the amounts it names come from the parameters."""
    process: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    processing_days: Mapped[int] = mapped_column(Integer)
    """Target processing time in working days."""
    public_report: Mapped[bool] = mapped_column(Boolean, default=False)
    """Offered as an Open311 service (a report about public space, e.g. a damaged road)."""
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    """May be submitted without an account (only public reports)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(100))


class ServiceParameters(Base):
    """One tenant's local settings of a library service for a period of validity."""

    __tablename__ = "service_parameters"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(String(63))
    department: Mapped[str] = mapped_column(String(63))
    """The responsible department: it works the cases and its staff write these parameters."""
    service_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("services.id"))
    version: Mapped[int] = mapped_column(Integer)
    """Counts the parameter sets of (tenant, service): 1, 2, ..."""
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    """Exclusive end; None: until further notice."""
    offered: Mapped[bool] = mapped_column(Boolean, default=True)
    cost_centre: Mapped[str] = mapped_column(String(32))
    revenue_shares: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    """Parts of the fee booked to other departments; the rest goes to ``cost_centre``."""
    fee_values: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    """The amounts, rate tables and lists the service's fee rule names (``values.<name>``)."""
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    trust_level: Mapped[str | None] = mapped_column(String(16))
    """A stricter level than the definition's, or None."""
    texts: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    """Local texts: ``office_address``, ``opening_hours``, ``legal_basis`` (each de/en)."""
    part_departments: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)
    """Which department answers each part of the process (part key -> department slug); a
    part not named here is answered by the responsible department itself."""
    retention_days: Mapped[int] = mapped_column(Integer)
    """How long a case file is kept after it was submitted."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(100))
