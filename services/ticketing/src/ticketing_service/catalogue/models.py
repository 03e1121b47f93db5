"""ORM models of the catalogue (migration 0002): venues, offerings with their ticket types, quotas,
combo components and opening rules, and the time slots with their capacity counters.

An offering belongs to one department of one tenant; everything below it inherits that scope.
Kinds: ``timed`` (sold per time slot, e.g. a museum exhibition or a pool session), ``pass``
(valid for ``valid_days`` from purchase, e.g. a 10-visit card) and ``combo`` (its ticket types
admit once to offerings of other departments and split the price between them).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Literal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ticketing_service.db import Base

__all__ = [
    "ComboComponent",
    "Offering",
    "OfferingKind",
    "OfferingStatus",
    "Quota",
    "Slot",
    "SlotQuotaUsage",
    "SlotRule",
    "TicketType",
    "Venue",
]

OfferingKind = Literal["timed", "pass", "combo"]
OfferingStatus = Literal["draft", "published", "archived"]


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class Venue(Base):
    """A place of a department (a museum building, an indoor pool); pools track who is in."""

    __tablename__ = "venues"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = _uuid_pk()
    tenant: Mapped[str] = mapped_column(String(63))
    department: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Berlin")
    max_occupancy: Mapped[int | None] = mapped_column(Integer)
    present: Mapped[int] = mapped_column(Integer, default=0)
    """People inside now: admitted entries minus recorded exits (never below zero)."""
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class Offering(Base):
    """Something a department sells tickets for, with its sales rules."""

    __tablename__ = "offerings"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = _uuid_pk()
    tenant: Mapped[str] = mapped_column(String(63))
    department: Mapped[str] = mapped_column(String(63))
    cost_centre: Mapped[str] = mapped_column(String(32))
    venue_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("venues.id"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    hold_minutes: Mapped[int] = mapped_column(Integer, default=15)
    cancellable_until_hours: Mapped[int | None] = mapped_column(Integer)
    """Citizens may cancel until this many hours before the slot starts (passes and combos:
    before the first visit); ``None``: no cancellation by citizens."""
    sales_close_minutes_before: Mapped[int] = mapped_column(Integer, default=0)
    max_tickets_per_order: Mapped[int] = mapped_column(Integer, default=10)
    max_tickets_per_account: Mapped[int] = mapped_column(Integer, default=10)
    """Timed offerings: tickets one account may hold of one slot, over its orders awaiting
    payment, confirmed or being cancelled (free tickets too)."""
    max_open_orders_per_account: Mapped[int] = mapped_column(Integer, default=2)
    """Orders of one account awaiting payment with a line of this offering."""
    valid_days: Mapped[int | None] = mapped_column(Integer)
    """Passes and combos: days of validity from purchase."""
    sales_start_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sales_end_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()

    venue: Mapped[Venue] = relationship(lazy="joined")
    ticket_types: Mapped[list[TicketType]] = relationship(
        order_by="TicketType.position", lazy="selectin", back_populates="offering",
        cascade="all, delete-orphan",
    )
    quotas: Mapped[list[Quota]] = relationship(lazy="selectin", cascade="all, delete-orphan")
    rules: Mapped[list[SlotRule]] = relationship(lazy="selectin", cascade="all, delete-orphan")

    def on_sale(self, now: datetime) -> bool:
        """True if published and ``now`` is inside the sales window."""
        if self.status != "published":
            return False
        if self.sales_start_at is not None and now < self.sales_start_at:
            return False
        return self.sales_end_at is None or now < self.sales_end_at


class Quota(Base):
    """A per-slot limit shared by several ticket types (e.g. at most 10 reduced + child)."""

    __tablename__ = "quotas"

    id: Mapped[uuid.UUID] = _uuid_pk()
    offering_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("offerings.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    capacity: Mapped[int] = mapped_column(Integer)


class TicketType(Base):
    """A price of an offering (adult, reduced, child, family, 10-visit card, city pass)."""

    __tablename__ = "ticket_types"

    id: Mapped[uuid.UUID] = _uuid_pk()
    offering_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("offerings.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    price: Mapped[int] = mapped_column(BigInteger)
    """Integer minor units (cents) of the offering's currency; 0 is allowed (child)."""
    places: Mapped[int] = mapped_column(Integer, default=1)
    """Places one ticket takes in a slot (a family ticket: 4)."""
    visits: Mapped[int] = mapped_column(Integer, default=1)
    """Admissions one ticket gives (a 10-visit card: 10)."""
    quota_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("quotas.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    offering: Mapped[Offering] = relationship(back_populates="ticket_types", lazy="raise")
    components: Mapped[list[ComboComponent]] = relationship(
        order_by="ComboComponent.position", lazy="selectin", cascade="all, delete-orphan")


class ComboComponent(Base):
    """One admission a combo ticket type includes, and the share of its price booked to the
    component's department."""

    __tablename__ = "combo_components"

    ticket_type_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("ticket_types.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    offering_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                                   ForeignKey("offerings.id"))
    department: Mapped[str] = mapped_column(String(63))
    cost_centre: Mapped[str] = mapped_column(String(32))
    visits: Mapped[int] = mapped_column(Integer, default=1)
    share: Mapped[int] = mapped_column(BigInteger)


class SlotRule(Base):
    """An opening-hours rule that generates slots: on these ISO weekdays (1 = Monday), from
    ``opens_at`` to ``closes_at`` local time, one slot every ``slot_minutes``."""

    __tablename__ = "slot_rules"

    id: Mapped[uuid.UUID] = _uuid_pk()
    offering_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("offerings.id", ondelete="CASCADE"))
    weekdays: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger))
    opens_at: Mapped[time] = mapped_column(Time)
    closes_at: Mapped[time] = mapped_column(Time)
    slot_minutes: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)


class Slot(Base):
    """A time slot of a timed offering with its capacity; ``held`` counts places reserved by
    orders awaiting payment, ``sold`` places of confirmed orders. The database refuses
    ``held + sold > capacity``."""

    __tablename__ = "slots"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = _uuid_pk()
    offering_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("offerings.id", ondelete="CASCADE"))
    tenant: Mapped[str] = mapped_column(String(63))
    department: Mapped[str] = mapped_column(String(63))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    capacity: Mapped[int] = mapped_column(Integer)
    held: Mapped[int] = mapped_column(Integer, default=0)
    sold: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()

    @property
    def available(self) -> int:
        """Places still free (never negative)."""
        return max(0, self.capacity - self.held - self.sold)


class SlotQuotaUsage(Base):
    """How much of a quota one slot has used (held and sold places)."""

    __tablename__ = "slot_quota_usage"

    slot_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("slots.id", ondelete="CASCADE"), primary_key=True)
    quota_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("quotas.id", ondelete="CASCADE"), primary_key=True)
    held: Mapped[int] = mapped_column(Integer, default=0)
    sold: Mapped[int] = mapped_column(Integer, default=0)

