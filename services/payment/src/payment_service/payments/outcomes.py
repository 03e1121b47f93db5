"""Applying what a provider reports (succeeded, failed) to a payment, whatever the order, and
however often, it arrives.

- Each notification id is applied at most once (``provider_notifications``): a replay changes
  nothing and reports ``already_processed``.
- The payment row is locked while a notification is applied, so two notifications of one
  payment apply one after the other.
- A success of an open payment makes it ``succeeded`` (through ``started`` if the page-open was
  never reported) and books it once; a second success changes nothing.
- A success of a closed payment (expired, cancelled, failed) is a *late success*: the money
  was taken although nobody waits for it any more. The status stays, the history and the event
  ``late_succeeded`` record it, and a refund of the captured amount is requested (once per
  payment, however many notifications report it). It is never booked as revenue here.

Flushes, never commits: the caller's unit of work does (the webhook's request, the
reconciliation job).
- A failure of an open payment makes it ``failed``; a failure after anything else (e.g. a stale
  decline arriving after the success) changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.journey import resume
from payment_service.payments import events, repository, service
from payment_service.payments.models import Payment
from payment_service.providers.base import ProviderOutcome
from payment_service.refunds.service import request_refund

__all__ = ["DECLINED", "LATE_SUCCESS", "NotificationResult", "apply_notification"]

DECLINED = "declined"
LATE_SUCCESS = "late_success"
NotificationResult = Literal[
    "processed", "already_processed", "no_change", "late_success", "unknown_payment"
]


async def apply_notification(
    session: AsyncSession, outcome: ProviderOutcome, *, now: datetime | None = None
) -> NotificationResult:
    """Apply one provider notification in the caller's transaction (see the module contract).

    An unknown provider payment id is remembered (so its replays are dropped too) and reported
    as ``unknown_payment``; nothing else changes.
    """
    now = now or service.now_utc()
    payment = await repository.lock_by_provider_id(
        session, outcome.provider, outcome.provider_payment_id
    )
    fresh = await repository.record_notification(
        session, outcome.provider, outcome.notification_id, outcome.kind,
        payment.id if payment is not None else None,
    )
    if not fresh:
        return "already_processed"
    if payment is None:
        return "unknown_payment"
    with resume("payment notification", payment.journey):
        if outcome.kind == "payment.succeeded":
            return await _succeeded(session, payment, outcome, now)
        return await _failed(session, payment, outcome, now)


async def _succeeded(
    session: AsyncSession, payment: Payment, outcome: ProviderOutcome, now: datetime
) -> NotificationResult:
    if payment.status == "succeeded":
        return "no_change"
    if payment.finished:
        return await _late_success(session, payment, outcome, now)
    await service.start_payment(session, payment, now)
    await service.change_status(session, payment, "succeeded", None, now,
                                detail={"notification_id": outcome.notification_id})
    return "processed"


async def _failed(
    session: AsyncSession, payment: Payment, outcome: ProviderOutcome, now: datetime
) -> NotificationResult:
    if payment.finished:
        return "no_change"
    await service.start_payment(session, payment, now)
    await service.change_status(session, payment, "failed", outcome.reason or DECLINED, now,
                                detail={"notification_id": outcome.notification_id})
    return "processed"


async def _late_success(
    session: AsyncSession, payment: Payment, outcome: ProviderOutcome, now: datetime
) -> NotificationResult:
    history = await repository.history(session, payment.id)
    if any(entry.event_type == events.LATE_SUCCEEDED for entry in history):
        return "no_change"
    captured = outcome.amount if outcome.amount is not None else payment.amount
    await repository.add_history(session, payment, events.LATE_SUCCEEDED, now, {
        "notification_id": outcome.notification_id,
        "captured_amount": captured,
        "refund_requested": True,
    })
    payment.captured_late(captured)
    await session.flush()
    # Never more than the payment's amount: that is all a refund of it may pay back.
    await request_refund(session, payment, min(captured, payment.amount), reason=LATE_SUCCESS,
                         requested_by="system")
    return "late_success"
