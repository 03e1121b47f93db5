"""HTTP models of the tickets slice: tickets and their entitlements, the ticket page, check-ins,
occupancy, and :class:`IssuedTicket` (what ``order.confirmed`` carries per ticket)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from city_shared.slugs import Slug
from ticketing_service.tickets.models import CheckInOutcome

GateOutcome: TypeAlias = CheckInOutcome
"""Every answer of the gate (``not_admitted``: an exit of a ticket that is not inside)."""

__all__ = [
    "CheckInCreate",
    "CheckInRead",
    "CheckInTicket",
    "EntitlementRead",
    "GateOutcome",
    "IssuedTicket",
    "Jwks",
    "OccupancyRead",
    "TicketList",
    "TicketPage",
    "TicketRead",
]


class IssuedTicket(BaseModel):
    """A ticket as ``order.confirmed`` carries it (the notification renders it)."""

    ticket_id: uuid.UUID
    code: str
    department: str
    offering_name: str
    ticket_type_name: str
    starts_at: datetime | None
    ends_at: datetime | None
    valid_from: datetime
    valid_until: datetime
    visits: int
    """Admissions in total (a combo: the sum over its components)."""
    qr_payload: str
    """The signed payload the QR code encodes."""
    page_url: str


class EntitlementRead(BaseModel):
    """What the ticket admits to in one department."""

    department: str
    offering_id: uuid.UUID
    offering_name: str
    slot_id: uuid.UUID | None
    visits_total: int
    visits_used: int
    visits_left: int


_TICKET_EXAMPLE: JsonDict = {
    "ticket_id": "1b7c0f5e-7a57-4a2d-9c43-3c1e7c7d0a11",
    "code": "7KQ2M9XR4TBD",
    "status": "valid",
    "tenant": "musterstadt",
    "department": "museum",
    "order_id": "0d6a4a8f-2c52-4b8f-8f43-7b4f2f3c9e20",
    "offering_id": "5a1d8e4b-8b2a-4f0e-9d2b-6a7f3c1e2d30",
    "offering_name": "Dauerausstellung",
    "ticket_type_id": "9e2f7c1a-4d3b-4a5e-8f6a-1b2c3d4e5f60",
    "ticket_type_name": "Erwachsene",
    "slot_id": "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e70",
    "starts_at": "2025-06-03T10:00:00Z",
    "ends_at": "2025-06-03T10:30:00Z",
    "valid_from": "2025-06-03T09:30:00Z",
    "valid_until": "2025-06-03T10:30:00Z",
    "issued_at": "2025-06-01T12:00:00Z",
    "voided_at": None,
    "void_reason": None,
    "visits_left": 1,
    "entitlements": [{"department": "museum",
                      "offering_id": "5a1d8e4b-8b2a-4f0e-9d2b-6a7f3c1e2d30",
                      "offering_name": "Dauerausstellung",
                      "slot_id": "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e70",
                      "visits_total": 1, "visits_used": 0, "visits_left": 1}],
    "qr_png_url": "https://tickets.musterstadt.example/tickets/1b7c0f5e-7a57-4a2d-9c43-"
                  "3c1e7c7d0a11/qr.png",
    "page_url": "https://tickets.musterstadt.example/tickets/1b7c0f5e-7a57-4a2d-9c43-"
                "3c1e7c7d0a11",
}


class TicketRead(BaseModel):
    """A ticket with what it admits to and how many visits are left."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TICKET_EXAMPLE]})

    ticket_id: uuid.UUID
    code: str | None
    """None for a reader whose role does not read codes (a gatekeeper)."""
    status: Literal["valid", "voided"]
    tenant: str
    department: str
    order_id: uuid.UUID
    offering_id: uuid.UUID
    offering_name: str
    ticket_type_id: uuid.UUID
    ticket_type_name: str
    slot_id: uuid.UUID | None
    starts_at: datetime | None
    ends_at: datetime | None
    valid_from: datetime
    valid_until: datetime
    issued_at: datetime
    voided_at: datetime | None
    void_reason: str | None
    visits_left: int
    """Admissions left over all entitlements (0 once voided)."""
    entitlements: list[EntitlementRead]
    qr_png_url: str
    page_url: str
    """The QR image and the ticket page answer 403 ``ticket_credentials_forbidden`` to a
    reader whose role does not read codes."""


class TicketList(BaseModel):
    """A page of tickets, newest first."""

    items: list[TicketRead]
    next_cursor: str | None = None


class VenueInfo(BaseModel):
    id: uuid.UUID
    name: str
    address: str | None


class PriceInfo(BaseModel):
    amount: int
    """Minor units (cents)."""
    currency: str


class TicketPage(BaseModel):
    """Everything a ticket page or PDF shows."""

    ticket: TicketRead
    venue: VenueInfo
    price: PriceInfo
    qr_payload: str
    qr_svg_data_uri: str
    """``data:image/svg+xml;base64,...`` of the QR code."""


class CheckInCreate(BaseModel):
    """One scan at a gate: the QR ``payload`` or a typed-in ``code`` (exactly one)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "scan_id": "gate-3-2025-06-03T09:41:07.120Z-0001",
            "department": "pools", "gate": "Drehkreuz 3", "direction": "entry",
            "payload": "eyJhbGciOiJFZERTQSIsImtpZCI6Ii4uLiJ9.eyJ0aWQiOiIuLi4ifQ.c2ln",
        }]},
    )

    scan_id: str = Field(min_length=1, max_length=100,
                         description="Generated by the scanner; a retry sends the same one.")
    department: Slug
    venue_id: uuid.UUID | None = None
    gate: str | None = Field(default=None, max_length=100)
    direction: Literal["entry", "exit"] = "entry"
    payload: str | None = Field(default=None, min_length=1, max_length=2048)
    code: str | None = Field(default=None, min_length=1, max_length=40)

    @model_validator(mode="after")
    def _one_credential(self) -> CheckInCreate:
        if (self.payload is None) == (self.code is None):
            raise ValueError("give exactly one of 'payload' (the scanned QR) or 'code'")
        return self


class CheckInTicket(BaseModel):
    """The scanned ticket, as far as it is known."""

    ticket_id: uuid.UUID
    code: str
    ticket_type_name: str
    visits_left: int
    """Visits left for the scanning department."""


class CheckInRead(BaseModel):
    """The gate's answer. ``admitted`` (entry) and ``exited`` (exit) let the person pass."""

    scan_id: str
    outcome: GateOutcome
    ticket: CheckInTicket | None
    scanned_at: datetime


class OccupancyRead(BaseModel):
    """How many people are inside a venue now."""

    venue_id: uuid.UUID
    present: int
    max_occupancy: int | None
    updated_at: datetime


class Jwk(BaseModel):
    kty: str
    crv: str
    x: str
    kid: str
    alg: str
    use: str


class Jwks(BaseModel):
    """The public keys that verify ticket payloads."""

    keys: list[Jwk]
