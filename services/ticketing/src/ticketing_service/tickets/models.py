"""ORM models of tickets, what they admit to (entitlements) and check-ins (migration 0002).

A ticket has a unique short ``code`` and one or more entitlements: a single ticket one (one
visit, its slot), a multi-visit pass one with several visits, a combo one per component
(department). A check-in consumes a visit of the entitlement of the scanning department.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ticketing_service.db import Base

__all__ = ["CHECKIN_OUTCOMES", "CheckIn", "CheckInOutcome", "Entitlement", "Ticket"]

CheckInOutcome = Literal["admitted", "already_used", "wrong_department", "not_valid_now",
                         "voided", "cancelled", "unknown", "invalid_signature", "exited",
                         "not_admitted"]
CHECKIN_OUTCOMES: Final = ("admitted", "already_used", "wrong_department", "not_valid_now",
                           "voided", "cancelled", "unknown", "invalid_signature", "exited",
                           "not_admitted")


class Ticket(Base):
    """One admission document of a confirmed order."""

    __tablename__ = "tickets"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(String(63))
    department: Mapped[str] = mapped_column(String(63))
    """The department that sold it (a combo's owner; its entitlements name the others)."""
    order_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("orders.id", ondelete="CASCADE"))
    order_line_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("order_lines.id", ondelete="CASCADE"))
    offering_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                                   ForeignKey("offerings.id"))
    ticket_type_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                                      ForeignKey("ticket_types.id"))
    slot_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True),
                                                      ForeignKey("slots.id"))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="valid")
    holder_account_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                server_default=func.now())
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    void_reason: Mapped[str | None] = mapped_column(String(64))

    entitlements: Mapped[list[Entitlement]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", passive_deletes=True)


class Entitlement(Base):
    """What a ticket admits to in one department, and how many visits of it are used."""

    __tablename__ = "ticket_entitlements"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tickets.id", ondelete="CASCADE"))
    department: Mapped[str] = mapped_column(String(63))
    offering_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                                   ForeignKey("offerings.id"))
    slot_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True),
                                                      ForeignKey("slots.id"))
    visits_total: Mapped[int] = mapped_column(Integer)
    visits_used: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def visits_left(self) -> int:
        return self.visits_total - self.visits_used


class CheckIn(Base):
    """One scan at a gate (entry or exit) and the answer given; ``scan_id`` makes a retried
    scan return the same answer."""

    __tablename__ = "checkins"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(63))
    scan_id: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(63))
    venue_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    entitlement_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    direction: Mapped[str] = mapped_column(String(8))
    outcome: Mapped[str] = mapped_column(String(24))
    gate: Mapped[str | None] = mapped_column(String(100))
    scanned_by: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)
    scanned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
