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

from pydantic import BaseModel, ConfigDict

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
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "ticket_id": "1b7c0f5e-7a57-4a2d-9c43-3c1e7c7d0a11",
        "order_id": "0d6a4a8f-2c52-4b8f-8f43-7b4f2f3c9e20",
        "tenant": "musterstadt",
        "department": "museum",
        "offering_id": "5a1d8e4b-8b2a-4f0e-9d2b-6a7f3c1e2d30",
        "ticket_type_id": "9e2f7c1a-4d3b-4a5e-8f6a-1b2c3d4e5f60",
        "code": "7KQ2M9XR4TBD",
        "valid_from": "2026-06-03T09:30:00Z",
        "valid_until": "2026-06-03T10:30:00Z",
        "entitlements": [
            {
                "department": "museum",
                "offering_id": "5a1d8e4b-8b2a-4f0e-9d2b-6a7f3c1e2d30",
                "visits": 1,
            },
        ],
    }]})

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
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "ticket_id": "1b7c0f5e-7a57-4a2d-9c43-3c1e7c7d0a11",
        "order_id": "0d6a4a8f-2c52-4b8f-8f43-7b4f2f3c9e20",
        "tenant": "musterstadt",
        "reason": "order_refunded",
    }]})

    ticket_id: uuid.UUID
    order_id: uuid.UUID
    tenant: str
    reason: str


class TicketCheckedInData(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "ticket_id": "1b7c0f5e-7a57-4a2d-9c43-3c1e7c7d0a11",
        "tenant": "musterstadt",
        "department": "museum",
        "venue_id": "6f5e4d3c-2b1a-4098-8f7e-6d5c4b3a2f19",
        "visits_left": 0,
    }]})

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
