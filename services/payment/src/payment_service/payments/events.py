"""The events the payments slice publishes on ``payment.payments`` (source ``/payment``,
subject and record key = the payment id, extension ``department`` when all line items share one).

- ``city.payment.payment.created.v1``: created (REST or command); adds ``description``,
  ``next_url`` (the pay page) and ``expires_at``.
- ``city.payment.payment.started.v1``: the person opened the pay page.
- ``city.payment.payment.succeeded.v1``: paid; adds ``line_items`` (department, cost_centre,
  amount), the split the ledger books.
- ``city.payment.payment.failed.v1``: declined at the provider (``reason``).
- ``city.payment.payment.cancelled.v1``: cancelled by the service (``cancelled_by_service``).
- ``city.payment.payment.expired.v1``: not paid in time (``expired``).
- ``city.payment.payment.late_succeeded.v1``: the provider took money for a payment already
  closed (expired, cancelled, failed); the status stays, the money is paid back; adds
  ``captured_amount`` and ``refund_requested``.

Every event carries ``payment_id``, ``tenant``, ``source``, ``reference`` (the requester's),
``amount``, ``currency``, ``status`` (after the event) and ``reason``. No personal data.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel, ConfigDict
from pydantic.config import JsonDict

from city_shared.envelope import Event, new_event

if TYPE_CHECKING:
    from payment_service.payments.models import Payment

__all__ = [
    "CANCELLED",
    "CREATED",
    "EXPIRED",
    "FAILED",
    "LATE_SUCCEEDED",
    "SOURCE",
    "STARTED",
    "SUCCEEDED",
    "LineItemData",
    "PaymentCreatedData",
    "PaymentEventData",
    "PaymentLateSucceededData",
    "PaymentSucceededData",
    "payment_event",
]

SOURCE: Final = "/payment"
CREATED: Final = "city.payment.payment.created.v1"
STARTED: Final = "city.payment.payment.started.v1"
SUCCEEDED: Final = "city.payment.payment.succeeded.v1"
FAILED: Final = "city.payment.payment.failed.v1"
CANCELLED: Final = "city.payment.payment.cancelled.v1"
EXPIRED: Final = "city.payment.payment.expired.v1"
LATE_SUCCEEDED: Final = "city.payment.payment.late_succeeded.v1"

#: The event type announcing each status.
BY_STATUS: Final[dict[str, str]] = {
    "created": CREATED,
    "started": STARTED,
    "succeeded": SUCCEEDED,
    "failed": FAILED,
    "cancelled": CANCELLED,
    "expired": EXPIRED,
}


#: The example every payment event's example starts from (each overrides what differs).
_PAYMENT_EXAMPLE: Final[JsonDict] = {
    "payment_id": "8b7a6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c52",
    "tenant": "musterstadt",
    "source": "ticketing",
    "reference": "T-2026-000123",
    "amount": 1600,
    "currency": "EUR",
    "status": "failed",
    "reason": "card_declined",
}


class PaymentEventData(BaseModel):
    """What every payment event carries."""

    model_config = ConfigDict(json_schema_extra={"examples": [_PAYMENT_EXAMPLE]})

    payment_id: uuid.UUID
    tenant: str
    source: str
    reference: str
    amount: int
    currency: str
    status: str
    reason: str | None


class PaymentCreatedData(PaymentEventData):
    """``created``: where the person pays, and until when."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_PAYMENT_EXAMPLE,
        "status": "created",
        "reason": None,
        "description": "Stadtmuseum: 2 x Erwachsene",
        "next_url": "https://pay.musterstadt.example/p/T-2026-000123",
        "expires_at": "2026-06-01T13:30:00Z",
    }]})

    description: str
    next_url: str | None
    expires_at: datetime


class LineItemData(BaseModel):
    """One line item as booked: which department's cost centre gets how much."""

    department: str
    cost_centre: str
    amount: int


class PaymentSucceededData(PaymentEventData):
    """``succeeded``: the split of the amount by department."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_PAYMENT_EXAMPLE,
        "status": "succeeded",
        "reason": None,
        "line_items": [{"department": "museum", "cost_centre": "MUS-4100", "amount": 1600}],
    }]})

    line_items: list[LineItemData]


class PaymentLateSucceededData(PaymentEventData):
    """``late_succeeded``: money arrived for a closed payment (status unchanged)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_PAYMENT_EXAMPLE,
        "status": "expired",
        "reason": "expired",
        "captured_amount": 1600,
        "refund_requested": True,
    }]})

    captured_amount: int
    refund_requested: bool


def _common(payment: Payment) -> dict[str, object]:
    return {
        "payment_id": payment.id,
        "tenant": payment.tenant,
        "source": payment.source,
        "reference": payment.reference,
        "amount": payment.amount,
        "currency": payment.currency,
        "status": payment.status,
        "reason": payment.reason,
    }


def event_data(type_: str, payment: Payment, **extra: object) -> BaseModel:
    """The data model of ``type_`` for ``payment`` in its current state."""
    common = _common(payment)
    if type_ == CREATED:
        return PaymentCreatedData.model_validate({
            **common, "description": payment.description, "next_url": payment.next_url,
            "expires_at": payment.expires_at,
        })
    if type_ == SUCCEEDED:
        items = [LineItemData(department=i.department, cost_centre=i.cost_centre,
                              amount=i.amount) for i in payment.line_items]
        return PaymentSucceededData.model_validate({**common, "line_items": items})
    if type_ == LATE_SUCCEEDED:
        return PaymentLateSucceededData.model_validate({**common, **extra})
    return PaymentEventData.model_validate(common)


def payment_event(
    type_: str, payment: Payment, *, caused_by: Event | None = None, **extra: object
) -> Event:
    """The event ``type_`` about ``payment``; ``caused_by`` continues a command's journey."""
    departments = payment.departments
    return new_event(
        type=type_,
        source=SOURCE,
        subject=str(payment.id),
        tenant=payment.tenant,
        department=departments[0] if len(departments) == 1 else None,
        data=event_data(type_, payment, **extra),
        caused_by=caused_by,
    )
