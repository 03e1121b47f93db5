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
from typing import Final

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared import outbox
from city_shared.envelope import Event, new_event
from ticketing_service.catalogue.models import Slot, TicketType
from ticketing_service.orders import repository
from ticketing_service.orders.models import Order
from ticketing_service.tickets.schemas import IssuedTicket
from ticketing_service.topics import ORDERS

__all__ = [
    "CANCELLED",
    "CONFIRMED",
    "EXPIRED",
    "PLACED",
    "REFUNDED",
    "SOURCE",
    "Catalogue",
    "LineSummary",
    "OrderClosedData",
    "OrderConfirmedData",
    "OrderEventData",
    "OrderPlacedData",
    "OrderRefundedData",
    "Recipient",
    "publish",
]

SOURCE: Final = "/ticketing"
PLACED: Final = "city.ticketing.order.placed.v1"
CONFIRMED: Final = "city.ticketing.order.confirmed.v1"
CANCELLED: Final = "city.ticketing.order.cancelled.v1"
EXPIRED: Final = "city.ticketing.order.expired.v1"
REFUNDED: Final = "city.ticketing.order.refunded.v1"

#: The ticket types and slots of an order's lines, by id.
Catalogue = tuple[dict[uuid.UUID, TicketType], dict[uuid.UUID, Slot]]


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


class OrderPlacedData(OrderEventData):
    hold_expires_at: datetime


class OrderClosedData(OrderEventData):
    """``cancelled`` and ``expired``."""

    recipient: Recipient


class OrderConfirmedData(OrderClosedData):
    tickets: list[IssuedTicket]


class OrderRefundedData(OrderClosedData):
    refunded_amount: int


async def _lines(session: AsyncSession, order: Order,
                 catalogue: Catalogue | None) -> list[LineSummary]:
    if catalogue is None:
        types = await repository.ticket_types_by_id(
            session, order.tenant, (line.ticket_type_id for line in order.lines))
        slots = await repository.slots_by_id(session, order.tenant,
                                             (line.slot_id for line in order.lines))
    else:
        types, slots = catalogue
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


async def publish(
    session: AsyncSession, type_: str, order: Order, *, caused_by: Event | None = None,
    tickets: list[IssuedTicket] | None = None, catalogue: Catalogue | None = None,
) -> Event:
    """Write the event ``type_`` about ``order`` (in its current state) to the outbox, in the
    session's transaction; ``caused_by`` continues a journey (else the order's own).
    ``catalogue``: the ticket types and slots of the lines if at hand (else they are read)."""
    common: dict[str, object] = {
        "order_id": order.id, "tenant": order.tenant, "account_id": order.account_id,
        "status": order.status, "reason": order.reason, "total": order.total,
        "currency": order.currency, "payment_id": order.payment_id,
        "lines": await _lines(session, order, catalogue),
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
    event = new_event(
        type=type_, source=SOURCE, subject=str(order.id), tenant=order.tenant,
        department=departments[0] if len(departments) == 1 else None, data=data,
        caused_by=caused_by, correlation_id=order.correlation_id,
    )
    await outbox.add(session, ORDERS, event)
    return event
