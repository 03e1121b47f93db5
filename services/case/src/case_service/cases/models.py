"""ORM models of cases (migration 0003): the case, its per-tenant yearly number counter and its
history (one row per status change or event, the citizen's timeline and the sender's log).

A case keeps the definition version and the parameter version it was submitted under, and a
copy of the form data and fee quote, so a later library or parameter change never alters it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from case_service.db import Base
from city_shared.unit_of_work import RecordsEvents

__all__ = ["Case", "CaseHistory", "CaseNumberCounter"]


class Case(RecordsEvents, Base):
    """A submitted application (an aggregate: its transitions record the events of
    ``case.cases`` and the commands to payment)."""

    __tablename__ = "cases"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(String(63))
    department: Mapped[str] = mapped_column(String(63))
    number: Mapped[str] = mapped_column(String(32))
    """Human-readable, per tenant and year: ``MS-2026-000123``."""
    service_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("services.id"))
    definition_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                                     ForeignKey("service_definitions.id"))
    definition_version: Mapped[int] = mapped_column(Integer)
    parameters_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                                     ForeignKey("service_parameters.id"))
    parameters_version: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    """The applicant's account; None for an anonymous report or after the account was erased."""
    submitted_by: Mapped[str] = mapped_column(String(100))
    """``citizen:<id>``, ``client:<id>`` or ``anonymous``."""
    channel: Mapped[str] = mapped_column(String(16))
    """``online`` (a draft), ``partner`` (a city system), ``intake`` (FIT-Connect-shaped),
    ``open311``."""
    status: Mapped[str] = mapped_column(String(24))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    verified: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    locale: Mapped[str] = mapped_column(String(5), default="de")
    fee_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    """What is due on submission, in minor units (0: nothing to pay now)."""
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    fee: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    """The fee quote as computed on submission (lines, exemption, collect, period)."""
    reference: Mapped[str] = mapped_column(String(255))
    """``case/case/<id>``: the payment's reference."""
    payment_status: Mapped[str | None] = mapped_column(String(16))
    """None (no fee), ``requested``, ``pending``, ``paid``, ``failed``, ``expired``."""
    payment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    checkout_url: Mapped[str | None] = mapped_column(String(2048))
    draft_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), unique=True)
    correlation_id: Mapped[str | None] = mapped_column(String(128))
    traceparent: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                   server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    retain_until: Mapped[date] = mapped_column(Date)
    """The retention period ends here; then the purge job deletes the file."""
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When the applicant's account was erased (the link is gone, the file stays)."""


class CaseNumberCounter(Base):
    """The last case number given out per tenant and year (row-locked while counting)."""

    __tablename__ = "case_number_counters"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class CaseHistory(Base):
    """One entry of a case's history: what happened, when, the status after it."""

    __tablename__ = "case_history"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                               ForeignKey("cases.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    """E.g. ``submitted``, ``payment_requested``, ``paid``."""
    status: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    """No personal data: ids, amounts, codes."""
