"""HTTP models of the refunds API: ``RefundCreate`` / ``RefundRead`` and the list with the
payment's refund figures. Amounts are integers in minor units."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from payment_service.payments.models import Payment
from payment_service.payments.schemas import Link
from payment_service.payments.types import Amount, Text
from payment_service.refunds.models import Refund

__all__ = ["RefundCreate", "RefundList", "RefundRead"]


class RefundCreate(BaseModel):
    """A refund to pay back: all of the payment or a part. ``amount`` must not exceed what
    is still refundable (409 ``refund_exceeds_available``, with ``available``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"amount": 450, "reason": "Pool closed for repairs"}]},
    )

    amount: Amount
    reason: Text
    line_items: list[Annotated[int, Field(ge=0, le=49)]] | None = Field(
        default=None, min_length=1, max_length=50)
    """Positions of the line items to pay back (the ledger takes the amount from these only);
    omitted: all of the payment's. Staff name their department's items: a refund touching
    another department's answers 403 ``refund_outside_department``."""


class RefundRead(BaseModel):
    """A refund: ``submitted`` until the provider confirmed (``succeeded``) or refused
    (``failed``; the amount is then refundable again)."""

    refund_id: uuid.UUID
    payment_id: uuid.UUID
    amount: int
    currency: str
    reason: str | None
    status: Literal["submitted", "succeeded", "failed"]
    finished: bool
    provider_refund_id: str | None
    line_items: list[int] | None
    """The line item positions it pays back; None: all of the payment's."""
    created_at: datetime
    finished_at: datetime | None
    links: dict[str, Link]

    @classmethod
    def of(cls, refund: Refund, payment: Payment, base_url: str) -> RefundRead:
        payment_href = f"{base_url}/payments/{payment.id}"
        return cls(
            refund_id=refund.id, payment_id=payment.id, amount=refund.amount,
            currency=payment.currency, reason=refund.reason,
            status=refund.status,
            finished=refund.finished, provider_refund_id=refund.provider_refund_id,
            line_items=list(refund.line_positions) if refund.line_positions is not None
            else None,
            created_at=refund.created_at, finished_at=refund.finished_at,
            links={"self": Link(href=f"{payment_href}/refunds/{refund.id}"),
                   "payment": Link(href=payment_href)},
        )


class RefundList(BaseModel):
    """The refunds of one payment, oldest first, with its figures: ``refunded_amount`` (paid
    back), ``pending_amount`` (held by submitted refunds) and ``refundable_amount``."""

    payment_id: uuid.UUID
    amount: int
    currency: str
    refunded_amount: int
    pending_amount: int
    refundable_amount: int
    items: list[RefundRead]
