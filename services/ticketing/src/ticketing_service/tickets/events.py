"""The events the tickets slice publishes on ``ticketing.tickets`` (source ``/ticketing``,
subject and record key = the ticket id, extension ``department`` = the ticket's department, or
the scanning department for check-ins).

- ``city.ticketing.ticket.issued.v1``: a ticket of a confirmed order exists; carries what it
  admits to (``entitlements``).
- ``city.ticketing.ticket.voided.v1``: the ticket no longer admits (order cancelled/refunded).
- ``city.ticketing.ticket.checked_in.v1``: a gate admitted the ticket (one visit used).

No personal data: no holder, no e-mail address.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final

from pydantic import BaseModel

from city_shared.envelope import Event, new_event

__all__ = [
    "CHECKED_IN",
    "ISSUED",
    "SOURCE",
    "VOIDED",
    "EntitlementData",
    "TicketCheckedInData",
    "TicketIssuedData",
    "TicketVoidedData",
    "ticket_event",
]

SOURCE: Final = "/ticketing"
ISSUED: Final = "city.ticketing.ticket.issued.v1"
VOIDED: Final = "city.ticketing.ticket.voided.v1"
CHECKED_IN: Final = "city.ticketing.ticket.checked_in.v1"


class EntitlementData(BaseModel):
    """One admission a ticket gives."""

    department: str
    offering_id: uuid.UUID
    visits: int


class TicketIssuedData(BaseModel):
    ticket_id: uuid.UUID
    order_id: uuid.UUID
    tenant: str
    department: str
    offering_id: uuid.UUID
    ticket_type_id: uuid.UUID
    code: str
    valid_from: datetime
    valid_until: datetime
    entitlements: list[EntitlementData]


class TicketVoidedData(BaseModel):
    ticket_id: uuid.UUID
    order_id: uuid.UUID
    tenant: str
    reason: str


class TicketCheckedInData(BaseModel):
    ticket_id: uuid.UUID
    tenant: str
    department: str
    venue_id: uuid.UUID | None
    visits_left: int


def ticket_event(type_: str, ticket_id: uuid.UUID, tenant: str, department: str,
                 data: BaseModel, caused_by: Event | None = None) -> Event:
    """An event of the ticket ``ticket_id`` (subject and record key)."""
    return new_event(type=type_, source=SOURCE, subject=str(ticket_id), tenant=tenant,
                     department=department, data=data, caused_by=caused_by)
