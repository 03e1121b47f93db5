"""HTTP models of the orders API: ``OrderCreate`` / ``OrderRead``, the list page. Amounts are
integers in minor units (cents) plus an ISO 4217 currency."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from city_shared.text import SINGLE_LINE
from city_shared.urls import HttpUrlText
from ticketing_service.orders.models import Order, OrderLine

__all__ = [
    "MAX_LINES",
    "OrderCreate",
    "OrderLineCreate",
    "OrderLineRead",
    "OrderList",
    "OrderRead",
    "OrderTicket",
]

MAX_LINES: Final = 20


Email = Annotated[str, StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$"),
                  SINGLE_LINE, Field(examples=["erika@example.org"])]
ReturnUrl = Annotated[HttpUrlText,
                      Field(examples=["https://tickets.musterstadt.example/orders/paid"])]
Quantity = Annotated[int, Field(strict=True, ge=1, le=100, examples=[2])]

_EXAMPLE_CREATE: JsonDict = {
    "lines": [
        {"ticket_type_id": "9e2f7c1a-4d3b-4a5e-8f6a-1b2c3d4e5f60",
         "slot_id": "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e70", "quantity": 2},
        {"ticket_type_id": "4b0c2e55-1f7a-4d0e-8a9b-3c4d5e6f7a81", "quantity": 1},
    ],
    "email": "erika@example.org",
    "locale": "de",
    "return_url": "https://tickets.musterstadt.example/orders/paid",
}


class OrderLineCreate(BaseModel):
    """``quantity`` tickets of one ticket type; ``slot_id`` for timed offerings only."""

    model_config = ConfigDict(extra="forbid")

    ticket_type_id: uuid.UUID
    slot_id: uuid.UUID | None = None
    quantity: Quantity


class OrderCreate(BaseModel):
    """A basket of up to 20 lines of one tenant's offerings (any departments)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE_CREATE]})

    lines: Annotated[list[OrderLineCreate], Field(min_length=1, max_length=MAX_LINES)]
    email: Email | None = None
    """Machine clients ordering for a citizen: where the order mail goes. Ignored for
    citizens: their order mail goes to their account's own address and their inbox, never to
    an address typed into an order."""
    locale: Literal["de", "en"] = "de"
    return_url: ReturnUrl | None = None
    """Where the checkout page sends the citizen after paying (default: the service's)."""
    account_id: uuid.UUID | None = None
    """The citizen a machine client orders for (required then); citizens leave it out."""


class OrderLineRead(BaseModel):
    """One line as ordered, with the price at the time of the order."""

    line_id: uuid.UUID
    position: int
    department: str
    offering_id: uuid.UUID
    ticket_type_id: uuid.UUID
    slot_id: uuid.UUID | None
    quantity: int
    places: int
    """Places one ticket takes in the slot."""
    unit_price: int
    amount: int
    description: str

    @classmethod
    def of(cls, line: OrderLine) -> OrderLineRead:
        return cls(line_id=line.id, position=line.position, department=line.department,
                   offering_id=line.offering_id, ticket_type_id=line.ticket_type_id,
                   slot_id=line.slot_id, quantity=line.quantity, places=line.places,
                   unit_price=line.unit_price, amount=line.amount,
                   description=line.description)


class OrderTicket(BaseModel):
    """A ticket of a confirmed order (the full ticket, QR included, is at ``page_url``)."""

    ticket_id: uuid.UUID
    code: str | None
    """None for a reader whose role does not read codes (a gatekeeper)."""
    status: Literal["valid", "voided"]
    department: str
    offering_name: str
    ticket_type_name: str
    starts_at: datetime | None
    valid_from: datetime
    valid_until: datetime
    page_url: str


_EXAMPLE_READ: JsonDict = {
    "order_id": "0d6a4a8f-2c52-4b8f-8f43-7b4f2f3c9e20",
    "status": "awaiting_payment",
    "reason": None,
    "tenant": "musterstadt",
    "account_id": "6f1c0c52-3f0e-4a55-9d0e-2b7c1f6b8a10",
    "email": "erika@example.org",
    "locale": "de",
    "total": 1600,
    "currency": "EUR",
    "refunded_amount": 0,
    "reference": "ticketing/order/0d6a4a8f-2c52-4b8f-8f43-7b4f2f3c9e20",
    "payment_id": None,
    "checkout_url": None,
    "hold_expires_at": "2025-06-01T12:15:00Z",
    "placed_at": "2025-06-01T12:00:00Z",
    "confirmed_at": None,
    "closed_at": None,
    "lines": [{"line_id": "7a1c2e3d-4f5a-4b6c-8d7e-9f0a1b2c3d41", "position": 0,
               "department": "museum", "offering_id": "5a1d8e4b-8b2a-4f0e-9d2b-6a7f3c1e2d30",
               "ticket_type_id": "9e2f7c1a-4d3b-4a5e-8f6a-1b2c3d4e5f60",
               "slot_id": "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e70", "quantity": 2, "places": 1,
               "unit_price": 800, "amount": 1600,
               "description": "Dauerausstellung, Erwachsene, 2025-06-03 10:00 UTC"}],
    "tickets": [],
}


class OrderRead(BaseModel):
    """An order as its reader may see it: staff see only the lines of their departments and
    no contact data; ``checkout_url`` is set once payment answered and while unpaid (not for
    a gatekeeper, nor are ticket codes); ``tickets`` once confirmed."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_READ]})

    order_id: uuid.UUID
    status: str
    reason: str | None
    tenant: str
    account_id: uuid.UUID | None
    email: str | None
    locale: str
    total: int
    currency: str
    refunded_amount: int
    reference: str
    payment_id: uuid.UUID | None
    checkout_url: str | None
    hold_expires_at: datetime
    placed_at: datetime
    confirmed_at: datetime | None
    closed_at: datetime | None
    lines: list[OrderLineRead]
    tickets: list[OrderTicket] = Field(default_factory=list)

    @classmethod
    def of(cls, order: Order, *, departments: frozenset[str] | None = None,
           tickets: list[OrderTicket] | None = None, checkout: bool = True) -> OrderRead:
        """``departments``: show only those lines and no contact data (staff); ``checkout``:
        False hides the checkout page."""
        lines = [line for line in order.lines
                 if departments is None or line.department in departments]
        return cls(
            order_id=order.id, status=order.status, reason=order.reason, tenant=order.tenant,
            account_id=order.account_id if departments is None else None,
            email=order.contact_email if departments is None else None, locale=order.locale,
            total=order.total, currency=order.currency, refunded_amount=order.refunded_amount,
            reference=order.reference, payment_id=order.payment_id,
            checkout_url=order.checkout_url
            if checkout and order.status == "awaiting_payment" else None,
            hold_expires_at=order.hold_expires_at, placed_at=order.placed_at,
            confirmed_at=order.confirmed_at, closed_at=order.closed_at,
            lines=[OrderLineRead.of(line) for line in lines], tickets=tickets or [],
        )


class OrderList(BaseModel):
    """A page of orders, newest first; ``next_cursor`` fetches the next one."""

    items: list[OrderRead]
    next_cursor: str | None = None
