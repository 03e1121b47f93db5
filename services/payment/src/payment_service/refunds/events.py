"""The events the refunds slice publishes on ``payment.payments`` (source ``/payment``,
subject and record key = the payment id, so a payment's refund events stay in order with its
other events; extension ``department`` when all line items share one).

- ``city.payment.refund.succeeded.v1``: the provider paid the amount back.
- ``city.payment.refund.failed.v1``: the provider refused; nothing was paid back and the
  amount is refundable again.

Data: ``refund_id``, ``payment_id``, ``tenant``, ``source`` and ``reference`` (the
requester's), ``amount``, ``currency``, ``reason`` (the free text given with the request),
``refunded_amount`` (the payment's total paid back after this event), ``requested_by``
(``source``: the payment's own service asked by command; ``staff`` or ``client``: someone
refunded at payment, which the owning service did not ask for), ``line_items`` (only on
``succeeded``: per line item ``position``, ``department``, ``cost_centre`` and the ``amount``
the ledger took back from it; the amounts add up to ``amount``) and ``departments`` (those
line items' departments). No personal data.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Final, Literal

from pydantic import BaseModel, ConfigDict

from city_shared.envelope import Event, new_event
from payment_service.payments.events import SOURCE

if TYPE_CHECKING:
    from payment_service.payments.models import Payment
    from payment_service.refunds.models import Refund

__all__ = [
    "REFUND_FAILED",
    "REFUND_SUCCEEDED",
    "RefundEventData",
    "RefundedItem",
    "refund_event",
    "requested_by_kind",
]

REFUND_SUCCEEDED: Final = "city.payment.refund.succeeded.v1"
REFUND_FAILED: Final = "city.payment.refund.failed.v1"


class RefundedItem(BaseModel):
    """What a succeeded refund took back from one line item."""

    position: int
    department: str
    cost_centre: str
    amount: int


class RefundEventData(BaseModel):
    """What both refund events carry."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "refund_id": "4d3c2b1a-0f9e-4d8c-8b7a-6f5e4d3c2b13",
        "payment_id": "8b7a6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c52",
        "tenant": "musterstadt",
        "source": "ticketing",
        "reference": "T-2026-000123",
        "amount": 1600,
        "currency": "EUR",
        "reason": "cancelled_by_citizen",
        "refunded_amount": 1600,
        "requested_by": "source",
        "line_items": [
            {"position": 1, "department": "museum", "cost_centre": "MUS-4100", "amount": 1600},
        ],
        "departments": ["museum"],
    }]})


    refund_id: uuid.UUID
    payment_id: uuid.UUID
    tenant: str
    source: str
    reference: str
    amount: int
    currency: str
    reason: str | None
    refunded_amount: int
    requested_by: Literal["source", "staff", "client"]
    line_items: list[RefundedItem]
    departments: list[str]


def requested_by_kind(payment: Payment, refund: Refund) -> Literal["source", "staff", "client"]:
    """Who asked for ``refund``: the payment's own service (its command), staff or a client
    at payment's API (``requested_by`` is ``<kind>:<sub>`` there)."""
    if refund.requested_by.startswith("staff:"):
        return "staff"
    if refund.requested_by.startswith("client:"):
        return "client"
    return "source"


def refund_event(type_: str, payment: Payment, refund: Refund,
                 line_items: list[RefundedItem] | None = None) -> Event:
    """The event ``type_`` about ``refund`` of ``payment`` (both in their state after it);
    ``line_items``: what the ledger took back from each (a succeeded refund)."""
    shares = line_items or []
    departments = (list(dict.fromkeys(i.department for i in shares)) if shares
                   else payment.departments)
    data = RefundEventData(
        refund_id=refund.id, payment_id=payment.id, tenant=payment.tenant,
        source=payment.source, reference=payment.reference, amount=refund.amount,
        currency=payment.currency, reason=refund.reason,
        refunded_amount=payment.refunded_amount,
        requested_by=requested_by_kind(payment, refund), line_items=shares,
        departments=departments,
    )
    return new_event(
        type=type_, source=SOURCE, subject=str(payment.id), tenant=payment.tenant,
        department=departments[0] if len(departments) == 1 else None, data=data,
    )
