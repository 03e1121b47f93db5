"""The commands the orders slice sends to payment on ``payment.requests`` (payment owns that
topic and its contract; the names are repeated here, services never import each other):

- ``city.payment.request.v1``: collect an order's total, split into line items per department
  and cost centre (payment's ``PaymentRequestData``). Payment dedupes on (source, reference):
  a repeated command for one order is one payment.
- ``city.payment.refund.request.v1``: pay back (part of) the payment of an order's reference.
  ``request_id`` is derived from the order and the occasion, so a command built twice for the
  same occasion is recognised by payment as one refund.

Source ``/ticketing``; subject and record key = the order's reference.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel

from city_shared.envelope import Event, new_event
from ticketing_service.orders.events import SOURCE

if TYPE_CHECKING:
    from ticketing_service.orders.models import Order

__all__ = [
    "LATE_PAYMENT_REFUND",
    "PAYMENT_REQUEST",
    "REFUND_REQUEST",
    "REQUESTS_TOPIC",
    "PaymentRequestData",
    "RefundRequestData",
    "payment_request",
    "refund_request",
    "shorten",
]

REQUESTS_TOPIC: Final = "payment.requests"
PAYMENT_REQUEST: Final = "city.payment.request.v1"
REFUND_REQUEST: Final = "city.payment.refund.request.v1"
#: The refund reason of a payment that arrived after the order's hold had run out.
LATE_PAYMENT_REFUND: Final = "late_payment"
_DESCRIPTION_MAX: Final = 255


class LineItem(BaseModel):
    department: str
    cost_centre: str
    description: str
    amount: int


class Payer(BaseModel):
    account_id: uuid.UUID | None


class PaymentRequestData(BaseModel):
    """``city.payment.request.v1`` as payment reads it."""

    request_id: uuid.UUID
    tenant: str
    reference: str
    amount: int
    currency: str
    description: str
    return_url: str | None
    line_items: list[LineItem]
    payer: Payer
    metadata: dict[str, str]


class RefundRequestData(BaseModel):
    """``city.payment.refund.request.v1``: pay ``amount`` of the reference's payment back."""

    request_id: uuid.UUID
    tenant: str
    reference: str
    amount: int
    reason: str


def shorten(text: str, limit: int = _DESCRIPTION_MAX) -> str:
    """``text`` cut to ``limit`` characters (payment accepts 255)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def payment_request(order: Order, *, description: str, return_url: str | None) -> Event:
    """The command to collect ``order.total`` (positive) with the order's payment items."""
    data = PaymentRequestData(
        request_id=uuid.uuid5(order.id, "payment"), tenant=order.tenant,
        reference=order.reference, amount=order.total, currency=order.currency,
        description=shorten(description), return_url=return_url,
        line_items=[LineItem(department=i.department, cost_centre=i.cost_centre,
                             description=i.description, amount=i.amount)
                    for i in order.payment_items],
        payer=Payer(account_id=order.account_id), metadata={"order_id": str(order.id)},
    )
    return new_event(type=PAYMENT_REQUEST, source=SOURCE, subject=order.reference,
                     tenant=order.tenant, data=data, correlation_id=order.correlation_id)


def refund_request(order: Order, amount: int, *, reason: str, occasion: str,
                   caused_by: Event | None = None) -> Event:
    """The command to pay ``amount`` of the order's payment back. ``request_id`` is derived
    from (order, ``occasion``): the same occasion is the same refund for payment, a new one
    (e.g. a second cancellation after a failed refund) another."""
    data = RefundRequestData(
        request_id=uuid.uuid5(order.id, f"refund:{occasion}"), tenant=order.tenant,
        reference=order.reference, amount=amount, reason=reason,
    )
    return new_event(type=REFUND_REQUEST, source=SOURCE, subject=order.reference,
                     tenant=order.tenant, data=data, caused_by=caused_by,
                     correlation_id=order.correlation_id)
