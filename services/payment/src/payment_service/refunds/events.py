"""The events the refunds slice publishes on ``payment.payments`` (source ``/payment``,
subject and record key = the payment id, so a payment's refund events stay in order with its
other events; extension ``department`` when all line items share one).

- ``city.payment.refund.succeeded.v1``: the provider paid the amount back.
- ``city.payment.refund.failed.v1``: the provider refused; nothing was paid back and the
  amount is refundable again.

Data: ``refund_id``, ``payment_id``, ``tenant``, ``source`` and ``reference`` (the
requester's), ``amount``, ``currency``, ``reason`` (the free text given with the request),
``refunded_amount`` (the payment's total paid back after this event). No personal data.
"""

from __future__ import annotations

import uuid
from typing import Final

from pydantic import BaseModel

from city_shared.envelope import Event, new_event
from payment_service.payments.events import SOURCE
from payment_service.payments.models import Payment
from payment_service.refunds.models import Refund

__all__ = ["REFUND_FAILED", "REFUND_SUCCEEDED", "RefundEventData", "refund_event"]

REFUND_SUCCEEDED: Final = "city.payment.refund.succeeded.v1"
REFUND_FAILED: Final = "city.payment.refund.failed.v1"


class RefundEventData(BaseModel):
    """What both refund events carry."""

    refund_id: uuid.UUID
    payment_id: uuid.UUID
    tenant: str
    source: str
    reference: str
    amount: int
    currency: str
    reason: str | None
    refunded_amount: int


def refund_event(type_: str, payment: Payment, refund: Refund) -> Event:
    """The event ``type_`` about ``refund`` of ``payment`` (both in their state after it)."""
    departments = payment.departments
    data = RefundEventData(
        refund_id=refund.id, payment_id=payment.id, tenant=payment.tenant,
        source=payment.source, reference=payment.reference, amount=refund.amount,
        currency=payment.currency, reason=refund.reason,
        refunded_amount=payment.refunded_amount,
    )
    return new_event(
        type=type_, source=SOURCE, subject=str(payment.id), tenant=payment.tenant,
        department=departments[0] if len(departments) == 1 else None, data=data,
    )
