"""HTTP models of the department reports (slot occupancy, revenue). Amounts are integer minor
units (cents) of ``currency``; times are in the venue's time zone with their UTC offset."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MAX_REPORT_DAYS",
    "RevenueReport",
    "RevenueRow",
    "RevenueTotal",
    "SlotReport",
    "SlotRow",
]

MAX_REPORT_DAYS: Final = 92
"""The longest period one report covers (a quarter), first and last day included."""

Cents = Annotated[int, Field(description="Integer minor units (cents) of `currency`.")]


class _Period(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    tenant: str
    department: str
    start: date = Field(alias="from", description="First day (venue's local date), included.")
    end: date = Field(alias="to", description="Last day (venue's local date), included.")


class SlotRow(BaseModel):
    """One time slot: its counters now, and who came.

    ``occupancy_rate`` = sold / capacity (``null`` for a slot without capacity). ``tickets``
    counts the valid tickets for the slot (a family ticket is one ticket taking several
    places), ``admitted`` the distinct ones admitted at the gate, ``no_shows`` the valid
    tickets never admitted once the slot has ended (``null`` before)."""

    slot_id: uuid.UUID
    offering_id: uuid.UUID
    offering: str
    starts_at: datetime
    ends_at: datetime
    status: str
    capacity: int
    sold: int
    held: int
    available: int
    occupancy_rate: float | None
    tickets: int
    admitted: int
    no_shows: int | None


class SlotReport(_Period):
    """Every slot of the department's timed offerings starting in the period, by start."""

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={"examples": [{
            "tenant": "musterstadt", "department": "museum", "from": "2025-06-03",
            "to": "2025-06-03",
            "slots": [{
                "slot_id": "0b0e3c57-8a47-4a43-9a84-6e3f0a1f1c11",
                "offering_id": "5d3f6e0c-1c2b-4d6e-8f9a-0b1c2d3e4f50",
                "offering": "Dauerausstellung", "starts_at": "2025-06-03T10:00:00+02:00",
                "ends_at": "2025-06-03T10:30:00+02:00", "status": "open", "capacity": 40,
                "sold": 12, "held": 2, "available": 26, "occupancy_rate": 0.3,
                "tickets": 12, "admitted": 10, "no_shows": 2,
            }],
        }]},
    )

    slots: list[SlotRow]


class RevenueRow(BaseModel):
    """Sales of one ticket type in one currency booked to the department.

    Counted are orders confirmed in the period that are ``confirmed``,
    ``cancellation_requested`` or ``refunded`` now; a refunded order's tickets count as sold
    and as refunded. A combo's row carries only the department's share of its price
    (``combo``: true, ``sold_by``: the department that sells it), so the Kulturpass appears in
    the museum's report with 600 and in the pools' report with 400 per ticket. A combo sold
    at a price its shares do not add up to counts whole for its seller (``combo``: false), as
    its payment was booked."""

    offering_id: uuid.UUID
    offering: str
    sold_by: str
    ticket_type_id: uuid.UUID
    ticket_type: str
    ticket_type_name: str
    combo: bool
    currency: str
    tickets_sold: int
    gross: Cents
    tickets_refunded: int
    refunded: Cents
    net: Cents


class RevenueTotal(BaseModel):
    """The department's figures of the period in one currency."""

    currency: str
    tickets_sold: int
    gross: Cents
    tickets_refunded: int
    refunded: Cents
    net: Cents


class RevenueReport(_Period):
    """Revenue of the department per offering and ticket type, and totals per currency."""

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={"examples": [{
            "tenant": "musterstadt", "department": "pools", "from": "2025-06-01",
            "to": "2025-06-30",
            "rows": [{
                "offering_id": "5d3f6e0c-1c2b-4d6e-8f9a-0b1c2d3e4f50", "offering": "Kulturpass",
                "sold_by": "museum", "ticket_type_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
                "ticket_type": "kulturpass", "ticket_type_name": "Kulturpass", "combo": True,
                "currency": "EUR", "tickets_sold": 3, "gross": 1200, "tickets_refunded": 1,
                "refunded": 400, "net": 800,
            }],
            "totals": [{"currency": "EUR", "tickets_sold": 3, "gross": 1200,
                        "tickets_refunded": 1, "refunded": 400, "net": 800}],
        }]},
    )

    rows: list[RevenueRow]
    totals: list[RevenueTotal]
