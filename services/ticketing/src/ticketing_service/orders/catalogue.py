"""The catalogue as the orders slice reads it: the ticket types of a basket with their
offering's sales rules and combo shares, and the basket's slots with their counters, as plain
read-only values (read in one statement by
:func:`ticketing_service.orders.repository.catalogue_of`; no ORM objects, which on the order
path cost more CPU to load than the query costs to run).

The values are a snapshot: the counters of a slot may change as soon as they are read, so they
serve a cheap early refusal only (:func:`ticketing_service.capacity.hold` decides).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Catalogue", "SaleComponent", "SaleOffering", "SaleSlot", "SaleType"]


@dataclass(frozen=True, slots=True)
class SaleOffering:
    """What an order needs of an offering (see
    :class:`~ticketing_service.catalogue.models.Offering`)."""

    id: uuid.UUID
    department: str
    cost_centre: str
    kind: str
    name: str
    status: str
    currency: str
    hold_minutes: int
    cancellable_until_hours: int | None
    sales_close_minutes_before: int
    max_tickets_per_order: int
    max_tickets_per_account: int
    max_open_orders_per_account: int
    sales_start_at: datetime | None
    sales_end_at: datetime | None

    def on_sale(self, now: datetime) -> bool:
        """True if published and ``now`` is inside the sales window (the rule of
        :meth:`~ticketing_service.catalogue.models.Offering.on_sale`)."""
        if self.status != "published":
            return False
        if self.sales_start_at is not None and now < self.sales_start_at:
            return False
        return self.sales_end_at is None or now < self.sales_end_at


@dataclass(frozen=True, slots=True)
class SaleComponent:
    """A combo's share booked to one department's cost centre."""

    department: str
    cost_centre: str
    share: int


@dataclass(frozen=True, slots=True)
class SaleType:
    """A ticket type with its offering and (combos) its components in position order."""

    id: uuid.UUID
    name: str
    price: int
    places: int
    quota_id: uuid.UUID | None
    active: bool
    offering: SaleOffering
    components: tuple[SaleComponent, ...]


@dataclass(frozen=True, slots=True)
class SaleSlot:
    """A slot with its counters as read."""

    id: uuid.UUID
    offering_id: uuid.UUID
    starts_at: datetime
    status: str
    capacity: int
    held: int
    sold: int

    @property
    def available(self) -> int:
        """Places free when read (never negative)."""
        return max(0, self.capacity - self.held - self.sold)


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The ticket types and slots of a basket (or of an order's lines), by id; ids of another
    tenant or of nothing are missing."""

    types: dict[uuid.UUID, SaleType]
    slots: dict[uuid.UUID, SaleSlot]
