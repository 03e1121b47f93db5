"""HTTP models of the payments API: ``PaymentCreate`` / ``PaymentRead``, the list page and
the history. Amounts are integers in minor units (cents) plus an ISO 4217 currency.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from city_shared.text import SINGLE_LINE
from payment_service.payments.models import Payment, PaymentHistory, PaymentStatus
from payment_service.payments.types import (
    Amount,
    CostCentre,
    Currency,
    LineAmount,
    Metadata,
    Reference,
    ReturnUrl,
    Slug,
    Text,
)

__all__ = [
    "HistoryEntryRead",
    "LineItemCreate",
    "LineItemRead",
    "Link",
    "PayerCreate",
    "PayerRead",
    "PaymentCreate",
    "PaymentHistoryRead",
    "PaymentList",
    "PaymentRead",
    "PaymentState",
]

_EXAMPLE_CREATE: JsonDict = {
    "amount": 1300,
    "currency": "EUR",
    "description": "Tickets Stadtmuseum and Hallenbad",
    "reference": "ticketing/order/7f3c",
    "return_url": "https://tickets.musterstadt.example/orders/7f3c",
    "metadata": {"order_id": "7f3c"},
    "line_items": [
        {"department": "museum", "cost_centre": "MUS-4100", "description": "Adult ticket",
         "amount": 800},
        {"department": "pools", "cost_centre": "BAD-5700", "description": "Adult swim",
         "amount": 450},
        {"department": "pools", "cost_centre": "BAD-5700", "description": "Reduced swim",
         "amount": 50},
    ],
    "payer": {"account_id": "6f1c0c52-3f0e-4a55-9d0e-2b7c1f6b8a10"},
}


class LineItemCreate(BaseModel):
    """The part of the amount booked to one department's cost centre."""

    model_config = ConfigDict(extra="forbid")

    department: Slug
    cost_centre: CostCentre
    description: Text
    amount: LineAmount


class PayerCreate(BaseModel):
    """Who pays, if known. Personal data: erased when the account is deleted."""

    model_config = ConfigDict(extra="forbid")

    account_id: uuid.UUID | None = None
    email: Annotated[str, StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$"),
                     SINGLE_LINE] | None = None
    name: Annotated[Text, StringConstraints(max_length=200)] | None = None


class PaymentCreate(BaseModel):
    """A payment to collect. The line items must add up to ``amount`` (422
    ``line_items_mismatch``). The same ``reference`` from the same source returns the
    existing payment (200) instead of creating another (201)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE_CREATE]})

    amount: Amount
    currency: Currency = "EUR"
    description: Text
    reference: Reference
    return_url: ReturnUrl | None = None
    metadata: Metadata = Field(default_factory=dict)
    line_items: Annotated[list[LineItemCreate], Field(min_length=1, max_length=50)]
    payer: PayerCreate | None = None


class Link(BaseModel):
    """A hypermedia link: where, and with which method."""

    href: str
    method: Literal["GET", "POST"] = "GET"


class PaymentState(BaseModel):
    """The status, whether it is final, and a machine-readable reason (failed: ``declined``,
    ``cancelled_by_payer``; cancelled: ``cancelled_by_service``; expired: ``expired``)."""

    status: PaymentStatus
    finished: bool
    reason: str | None


class LineItemRead(BaseModel):
    """A line item as stored."""

    department: str
    cost_centre: str
    description: str
    amount: int


class PayerRead(BaseModel):
    """The payer as far as known (null fields after an erasure)."""

    account_id: uuid.UUID | None
    email: str | None
    name: str | None


class PaymentRead(BaseModel):
    """A payment. Staff see only the line items of their own departments; ``amount`` is
    always the total. ``next_url`` is the pay page while the payment is open."""

    payment_id: uuid.UUID
    tenant: str
    source: str
    reference: str
    amount: int
    currency: str
    description: str
    return_url: str | None
    metadata: dict[str, str]
    line_items: list[LineItemRead]
    payer: PayerRead | None
    state: PaymentState
    provider: str
    provider_payment_id: str | None
    next_url: str | None
    refunded_amount: int
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    finished_at: datetime | None
    links: dict[str, Link]

    @classmethod
    def of(
        cls, payment: Payment, base_url: str, *, departments: Collection[str] | None = None
    ) -> PaymentRead:
        """The representation of ``payment``; with ``departments``, only their line items."""
        self_href = f"{base_url}/payments/{payment.id}"
        links = {"self": Link(href=self_href), "events": Link(href=f"{self_href}/events")}
        if payment.next_url and not payment.finished:
            links["next_url"] = Link(href=payment.next_url)
        if payment.can_become("cancelled"):
            links["cancel"] = Link(href=f"{self_href}/cancel", method="POST")
        items = [i for i in payment.line_items
                 if departments is None or i.department in departments]
        has_payer = any((payment.payer_account_id, payment.payer_email, payment.payer_name))
        return cls(
            payment_id=payment.id,
            tenant=payment.tenant,
            source=payment.source,
            reference=payment.reference,
            amount=payment.amount,
            currency=payment.currency,
            description=payment.description,
            return_url=payment.return_url,
            metadata=dict(payment.metadata_),
            line_items=[LineItemRead(department=i.department, cost_centre=i.cost_centre,
                                     description=i.description, amount=i.amount) for i in items],
            payer=PayerRead(account_id=payment.payer_account_id, email=payment.payer_email,
                            name=payment.payer_name) if has_payer else None,
            state=PaymentState(status=payment.status,
                               finished=payment.finished, reason=payment.reason),
            provider=payment.provider,
            provider_payment_id=payment.provider_payment_id,
            next_url=payment.next_url if not payment.finished else None,
            refunded_amount=payment.refunded_amount,
            created_at=payment.created_at,
            updated_at=payment.updated_at,
            expires_at=payment.expires_at,
            finished_at=payment.finished_at,
            links=links,
        )


class PaymentList(BaseModel):
    """One page of payments, newest first; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[PaymentRead]
    next_cursor: str | None
    links: dict[str, Link]


class HistoryEntryRead(BaseModel):
    """One entry of a payment's history."""

    type: str
    status: str
    reason: str | None
    data: dict[str, object]
    occurred_at: datetime

    @classmethod
    def of(cls, entry: PaymentHistory) -> HistoryEntryRead:
        return cls(type=entry.event_type, status=entry.status, reason=entry.reason,
                   data=dict(entry.data), occurred_at=entry.occurred_at)


class PaymentHistoryRead(BaseModel):
    """What happened to one payment, oldest first."""

    payment_id: uuid.UUID
    events: list[HistoryEntryRead]
