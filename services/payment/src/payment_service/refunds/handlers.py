"""Inbound commands of the refunds slice, with a narrow model of what they read.

- ``city.payment.refund.request.v1`` on ``payment.requests`` (command): pay back ``amount``
  of the payment the requester (source = the event's source without the slash, e.g.
  ``ticketing``) has for ``reference``, as ``POST /payments/{id}/refunds`` would. The refund is
  recorded ``submitted`` here; the worker's refund submitter hands it to the provider, and
  ``refund.succeeded`` / ``refund.failed`` (carrying the requester's reference) answer.

A command is obeyed once per ``request_id``: the inbox only catches a redelivery of the same
event, but a requester may send the same request again as a new event (a retry after a crash,
a replayed outbox). The payment's history records each obeyed ``request_id`` (with the refund
it made), and it is checked under the payment's row lock, so a repeat is skipped even when it
arrives concurrently. Unknown payments, payments that took no money and amounts above what is
still refundable raise :class:`PermanentFailure`: dead letters, no retry.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Final

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.consumer import PermanentFailure
from city_shared.envelope import Event
from city_shared.errors import DomainError
from payment_service.payments import repository as payments
from payment_service.payments.models import PaymentHistory
from payment_service.payments.types import Amount, Reference, Text
from payment_service.refunds import repository, service

__all__ = ["REFUND_REQUEST", "RefundRequestData", "on_refund_requested"]

REFUND_REQUEST: Final = "city.payment.refund.request.v1"


class RefundRequestData(BaseModel):
    """``city.payment.refund.request.v1``: "pay this much of this reference's payment back"."""

    model_config = ConfigDict(extra="ignore")

    request_id: uuid.UUID
    tenant: str
    reference: Reference
    amount: Amount
    reason: Text | None = None


async def _obeyed_before(session: AsyncSession, payment_id: uuid.UUID,
                         request_id: uuid.UUID) -> bool:
    stmt = select(
        select(PaymentHistory.id)
        .where(PaymentHistory.payment_id == payment_id,
               PaymentHistory.event_type == REFUND_REQUEST,
               PaymentHistory.data["request_id"].astext == str(request_id))
        .exists()
    )
    return bool((await session.execute(stmt)).scalar())


async def on_refund_requested(session: AsyncSession, event: Event) -> None:
    """Record the requested refund (``submitted``) once per ``request_id``; a repeated request
    changes nothing."""
    data = event.parse(RefundRequestData)
    if data.tenant != event.tenant:
        raise PermanentFailure("data.tenant differs from the event's tenant")
    source = event.source.removeprefix("/")
    found = await payments.get_by_reference(session, data.tenant, source, data.reference)
    if found is None:
        raise PermanentFailure("the requester has no payment with this reference")
    payment = await repository.lock_payment(session, found.id)
    if payment is None:
        raise PermanentFailure("the payment vanished")
    if await _obeyed_before(session, payment.id, data.request_id):
        return
    now = datetime.now(UTC)
    try:
        refund = await service.request_refund(session, payment, data.amount,
                                              reason=data.reason, requested_by=source, now=now)
    except DomainError as exc:
        if exc.status >= 500:
            raise
        raise PermanentFailure(f"refund request rejected: {exc.code}") from exc
    await payments.add_history(session, payment, REFUND_REQUEST, now, {
        "request_id": str(data.request_id), "refund_id": str(refund.id), "amount": refund.amount,
    })
