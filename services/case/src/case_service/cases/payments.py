"""The commands the cases slice sends to payment on ``payment.requests`` (payment owns that topic
and its contract; the names are repeated here, services never import each other):
``city.payment.request.v1``, collect a case's fee, split into line items per department and
cost centre; ``city.payment.refund.request.v1``, pay (a payment of) a case's fee back.

Payment dedupes on (tenant, source, reference): the first attempt of a case uses
``case/case/<id>``, a new attempt after a failed payment ``case/case/<id>/<n>`` (else payment
would answer with the failed payment again). ``request_id`` is ``uuid5(case.id, "payment")`` for
the first attempt and ``uuid5(case.id, "payment:<n>")`` for attempt ``n``.
A refund names the reference of the attempt whose payment is paid back; its ``request_id`` is
``uuid5(case.id, <occasion>)`` (``withdrawal``, ``late:<payment id>``), so payment obeys one
occasion once however often the command is sent.
Source ``/case``; subject and record key = the attempt's reference.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel, ConfigDict, Field

from case_service.cases.events import SOURCE
from city_shared.envelope import Event, new_event

if TYPE_CHECKING:
    from case_service.cases.models import Case

__all__ = [
    "LATE_PAYMENT_REFUND",
    "PAYMENT_REQUEST",
    "REFUND_REQUEST",
    "REQUESTS_TOPIC",
    "LineItem",
    "PaymentRequestData",
    "RefundRequestData",
    "line_items",
    "payment_reference",
    "payment_request",
    "refund_request",
]

REQUESTS_TOPIC: Final = "payment.requests"
PAYMENT_REQUEST: Final = "city.payment.request.v1"
REFUND_REQUEST: Final = "city.payment.refund.request.v1"
#: The refund reason of a payment the case did not need (an earlier attempt, or paid twice).
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

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "request_id": "2d6c4f1e-0a3b-5c7d-9e8f-1a2b3c4d5e6f",
        "tenant": "musterstadt",
        "reference": "case/case/6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
        "amount": 1200,
        "currency": "EUR",
        "description": "Geburtsurkunde MS-2026-000123",
        "return_url": "https://musterstadt.example/cases",
        "line_items": [{"department": "citizens-office", "cost_centre": "BB-1100",
                        "description": "Geburtsurkunde", "amount": 1200}],
        "payer": {"account_id": "3f2b6c1e-8d4a-4c7e-9b1f-2a6d5e4c3b21"},
        "metadata": {"case_id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
                     "case_number": "MS-2026-000123"},
    }]})

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

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "request_id": "5e4d3c2b-1a0f-5e9d-8c7b-6a5f4e3d2c1b",
        "tenant": "musterstadt",
        "reference": "case/case/6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
        "amount": 1200,
        "reason": "withdrawn",
    }]})

    request_id: uuid.UUID
    tenant: str
    reference: str
    amount: int
    reason: str


class _Share(BaseModel):
    """One revenue share of the parameters as read here: a fixed ``amount`` (cents) or a
    ``percent`` of the fee booked to another department's cost centre."""

    model_config = ConfigDict(extra="ignore")

    department: str
    cost_centre: str
    amount: int | None = Field(default=None, ge=0)
    percent: float | None = Field(default=None, ge=0, le=100)


def _shorten(text: str, limit: int = _DESCRIPTION_MAX) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def line_items(total: int, *, department: str, cost_centre: str,
               revenue_shares: Sequence[Mapping[str, object]],
               description: str) -> list[LineItem]:
    """``total`` split into line items that sum to exactly ``total``: each revenue share gets
    its amount (or its percentage, rounded down), never more than is left; the rest goes to
    the responsible ``department`` and ``cost_centre``. Shares of one cost centre are merged;
    empty items are left out."""
    amounts: dict[tuple[str, str], int] = {}
    left = total
    for raw in revenue_shares:
        share = _Share.model_validate(raw)
        wanted = share.amount if share.amount is not None else int(
            total * (share.percent or 0) // 100)
        booked = min(wanted, left)
        key = (share.department, share.cost_centre)
        amounts[key] = amounts.get(key, 0) + booked
        left -= booked
    items = {(department, cost_centre): left + amounts.pop((department, cost_centre), 0)}
    items.update(amounts)
    return [LineItem(department=d, cost_centre=c, description=_shorten(description), amount=a)
            for (d, c), a in items.items() if a > 0]


def payment_reference(case_id: uuid.UUID, attempt: int) -> str:
    """The reference of payment attempt ``attempt`` (1 for the first) of a case."""
    return f"case/case/{case_id}" if attempt <= 1 else f"case/case/{case_id}/{attempt}"


def payment_request(case: Case, *, attempt: int, items: list[LineItem], description: str,
                    return_url: str | None, caused_by: Event | None = None) -> Event:
    """The command to collect ``case.fee_amount`` (positive) in attempt ``attempt``."""
    occasion = "payment" if attempt <= 1 else f"payment:{attempt}"
    data = PaymentRequestData(
        request_id=uuid.uuid5(case.id, occasion), tenant=case.tenant,
        reference=payment_reference(case.id, attempt), amount=case.fee_amount,
        currency=case.currency, description=_shorten(description), return_url=return_url,
        line_items=items, payer=Payer(account_id=case.account_id),
        metadata={"case_id": str(case.id), "case_number": case.number},
    )
    return new_event(type=PAYMENT_REQUEST, source=SOURCE, subject=data.reference,
                     tenant=case.tenant, department=case.department, data=data,
                     caused_by=caused_by, correlation_id=case.correlation_id)


def refund_request(case: Case, *, reference: str, amount: int, reason: str, occasion: str,
                   caused_by: Event | None = None) -> Event:
    """The command to pay ``amount`` (positive) of the payment of ``reference`` (an attempt of
    ``case``) back; ``occasion`` names the refund (``withdrawal``, ``late:<payment id>``): the
    same occasion is the same refund for payment, whatever the retries."""
    data = RefundRequestData(request_id=uuid.uuid5(case.id, occasion), tenant=case.tenant,
                             reference=reference, amount=amount, reason=_shorten(reason))
    return new_event(type=REFUND_REQUEST, source=SOURCE, subject=reference, tenant=case.tenant,
                     department=case.department, data=data, caused_by=caused_by,
                     correlation_id=case.correlation_id)
