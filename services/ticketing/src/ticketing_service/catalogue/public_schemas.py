"""HTTP models of the public catalogue and availability (no token needed)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

__all__ = [
    "AvailabilityRead",
    "PublicOffering",
    "PublicOfferingList",
    "PublicTicketType",
    "SlotAvailability",
    "SlotAvailabilityStatus",
    "TicketTypeAvailability",
]


# -- public views -----------------------------------------------------------------------------


class PublicTicketType(BaseModel):
    ticket_type_id: uuid.UUID
    code: str
    name: str
    price: int
    places: int
    visits: int


class PublicOffering(BaseModel):
    """A published offering as a shop shows it: active ticket types with prices."""

    offering_id: uuid.UUID
    department: str
    kind: str
    name: str
    description: str
    venue_name: str
    currency: str
    valid_days: int | None
    max_tickets_per_order: int
    sales_open: bool
    ticket_types: list[PublicTicketType]


class PublicOfferingList(BaseModel):
    items: list[PublicOffering]


class TicketTypeAvailability(BaseModel):
    """Places this ticket type can still take in the slot (the smaller of the slot's and its
    quota's remainder) and how many tickets that is (``places`` per ticket)."""

    ticket_type_id: uuid.UUID
    code: str
    available: int
    tickets: int


SlotAvailabilityStatus = Literal["available", "few_left", "sold_out", "closed"]


class SlotAvailability(BaseModel):
    """``closed``: staff closed the slot or its sales have ended (``sales_close_minutes_before``
    its start); ``few_left``: at most a fifth of the capacity is left."""

    slot_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    available: int
    status: SlotAvailabilityStatus
    ticket_types: list[TicketTypeAvailability]


class AvailabilityRead(BaseModel):
    """Availability of a published offering between two local dates of its venue (inclusive).
    ``sales_open``: the offering is on sale now (its sales window)."""

    model_config = ConfigDict(populate_by_name=True)

    offering_id: uuid.UUID
    from_: date = Field(serialization_alias="from")
    to: date
    timezone: str
    sales_open: bool
    slots: list[SlotAvailability]
