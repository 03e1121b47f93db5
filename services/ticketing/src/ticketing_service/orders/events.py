"""The events the orders slice publishes on ``ticketing.orders`` (source ``/ticketing``, subject
and record key = the order id, extension ``department`` when all lines share one).

- ``city.ticketing.order.placed.v1``: capacity held, payment requested (adds
  ``hold_expires_at``).
- ``city.ticketing.order.confirmed.v1``: paid (or free); adds ``recipient`` and ``tickets``
  (each with its signed ``qr_payload``): the notification service sends them.
- ``city.ticketing.order.cancelled.v1``: payment failed or cancelled (``reason``
  ``payment_failed`` / ``payment_cancelled``); adds ``recipient``.
- ``city.ticketing.order.expired.v1``: not paid in time (``hold_expired`` /
  ``payment_expired``); adds ``recipient``.
- ``city.ticketing.order.refunded.v1``: cancelled by the citizen and paid back; adds
  ``recipient`` and ``refunded_amount``.

Every event carries ``order_id``, ``tenant``, ``account_id``, ``status`` (after the event),
``reason``, ``total``, ``currency``, ``payment_id`` and a summary of the ``lines``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel, ConfigDict
from pydantic.config import JsonDict

from city_shared.envelope import Event, new_event
from ticketing_service.orders.catalogue import Catalogue
from ticketing_service.tickets.schemas import IssuedTicket

if TYPE_CHECKING:
    from ticketing_service.orders.models import Order

__all__ = [
    "CANCELLED",
    "CONFIRMED",
    "EXPIRED",
    "PLACED",
    "REFUNDED",
    "SOURCE",
    "LineSummary",
    "OrderClosedData",
    "OrderConfirmedData",
    "OrderEventData",
    "OrderPlacedData",
    "OrderRefundedData",
    "Recipient",
    "line_summaries",
    "order_event",
]

SOURCE: Final = "/ticketing"
PLACED: Final = "city.ticketing.order.placed.v1"
CONFIRMED: Final = "city.ticketing.order.confirmed.v1"
CANCELLED: Final = "city.ticketing.order.cancelled.v1"
EXPIRED: Final = "city.ticketing.order.expired.v1"
REFUNDED: Final = "city.ticketing.order.refunded.v1"



class LineSummary(BaseModel):
    """One order line as the events summarise it."""

    department: str
    offering_id: uuid.UUID
    ticket_type_id: uuid.UUID
    ticket_type: str
    """The ticket type's name (e.g. ``Erwachsene``)."""
    slot_id: uuid.UUID | None
    slot_starts_at: datetime | None
    quantity: int
    amount: int


class Recipient(BaseModel):
    """Whom to tell about the order (personal data: gone once the account is erased)."""

    account_id: uuid.UUID | None
    email: str | None
    locale: str


class OrderEventData(BaseModel):
    """What every order event carries."""

    order_id: uuid.UUID
    tenant: str
    account_id: uuid.UUID | None
    status: str
    reason: str | None
    total: int
    currency: str
    payment_id: uuid.UUID | None
    lines: list[LineSummary]


#: The example every order event's example starts from (each overrides what differs).
_ORDER_EXAMPLE: Final[JsonDict] = {
    "order_id": "0d6a4a8f-2c52-4b8f-8f43-7b4f2f3c9e20",
    "tenant": "musterstadt",
    "account_id": "3f2b6c1e-8d4a-4c7e-9b1f-2a6d5e4c3b21",
    "status": "cancelled",
    "reason": "payment_failed",
    "total": 1600,
    "currency": "EUR",
    "payment_id": "8b7a6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c52",
    "lines": [
        {
            "department": "museum",
            "offering_id": "5a1d8e4b-8b2a-4f0e-9d2b-6a7f3c1e2d30",
            "ticket_type_id": "9e2f7c1a-4d3b-4a5e-8f6a-1b2c3d4e5f60",
            "ticket_type": "Erwachsene",
            "slot_id": "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e70",
            "slot_starts_at": "2026-06-03T10:00:00Z",
            "quantity": 2,
            "amount": 1600,
        },
    ],
}
_RECIPIENT_EXAMPLE: Final[JsonDict] = {
    "account_id": "3f2b6c1e-8d4a-4c7e-9b1f-2a6d5e4c3b21",
    "email": "erika.mustermann@example.org",
    "locale": "de",
}


class OrderPlacedData(OrderEventData):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_ORDER_EXAMPLE,
        "status": "awaiting_payment",
        "reason": None,
        "payment_id": None,
        "hold_expires_at": "2026-06-01T12:15:00Z",
    }]})

    hold_expires_at: datetime


class OrderClosedData(OrderEventData):
    """``cancelled`` and ``expired``."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_ORDER_EXAMPLE,
        "recipient": _RECIPIENT_EXAMPLE,
    }]})

    recipient: Recipient


class OrderConfirmedData(OrderClosedData):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_ORDER_EXAMPLE,
        "status": "confirmed",
        "reason": None,
        "recipient": _RECIPIENT_EXAMPLE,
        "tickets": [
            {
                "ticket_id": "1b7c0f5e-7a57-4a2d-9c43-3c1e7c7d0a11",
                "code": "7KQ2M9XR4TBD",
                "department": "museum",
                "offering_name": "Dauerausstellung",
                "ticket_type_name": "Erwachsene",
                "starts_at": "2026-06-03T10:00:00Z",
                "ends_at": "2026-06-03T10:30:00Z",
                "valid_from": "2026-06-03T09:30:00Z",
                "valid_until": "2026-06-03T10:30:00Z",
                "visits": 1,
                "qr_payload": "eyJhbGciOiJFZERTQSJ9.EXAMPLE.SIGNATURE",
                "page_url": "https://musterstadt.example/tickets/1b7c0f5e",
            },
        ],
    }]})

    tickets: list[IssuedTicket]


class OrderRefundedData(OrderClosedData):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_ORDER_EXAMPLE,
        "status": "refunded",
        "reason": "cancelled_by_citizen",
        "recipient": _RECIPIENT_EXAMPLE,
        "refunded_amount": 1600,
    }]})

    refunded_amount: int


def line_summaries(order: Order, catalogue: Catalogue) -> list[LineSummary]:
    """The lines of ``order`` as the events summarise them; ``catalogue``: the ticket types
    and slots of the lines."""
    types, slots = catalogue.types, catalogue.slots
    return [
        LineSummary(
            department=line.department, offering_id=line.offering_id,
            ticket_type_id=line.ticket_type_id,
            ticket_type=types[line.ticket_type_id].name if line.ticket_type_id in types else "",
            slot_id=line.slot_id,
            slot_starts_at=slots[line.slot_id].starts_at if line.slot_id in slots else None,
            quantity=line.quantity, amount=line.amount)
        for line in order.lines
    ]


def order_event(
    type_: str, order: Order, *, lines: list[LineSummary], caused_by: Event | None = None,
    tickets: list[IssuedTicket] | None = None,
) -> Event:
    """The event ``type_`` about ``order`` in its current state (the order records it, see
    :class:`~ticketing_service.orders.models.Order`); ``caused_by`` continues a journey (else
    the order's own)."""
    common: dict[str, object] = {
        "order_id": order.id, "tenant": order.tenant, "account_id": order.account_id,
        "status": order.status, "reason": order.reason, "total": order.total,
        "currency": order.currency, "payment_id": order.payment_id, "lines": lines,
    }
    recipient = Recipient(account_id=order.account_id, email=order.contact_email,
                          locale=order.locale)
    data: BaseModel
    if type_ == PLACED:
        data = OrderPlacedData.model_validate({**common,
                                               "hold_expires_at": order.hold_expires_at})
    elif type_ == CONFIRMED:
        data = OrderConfirmedData.model_validate({**common, "recipient": recipient,
                                                  "tickets": tickets or []})
    elif type_ == REFUNDED:
        data = OrderRefundedData.model_validate({**common, "recipient": recipient,
                                                 "refunded_amount": order.refunded_amount})
    else:
        data = OrderClosedData.model_validate({**common, "recipient": recipient})
    departments = order.departments
    return new_event(
        type=type_, source=SOURCE, subject=str(order.id), tenant=order.tenant,
        department=departments[0] if len(departments) == 1 else None, data=data,
        caused_by=caused_by, correlation_id=order.correlation_id,
    )
