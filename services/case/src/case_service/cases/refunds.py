"""Paying money of a case back through payment's refund command, and payment's answers about
it: the fee on withdrawal (:func:`refund_fee`), a payment the case did not need
(:func:`refund_unneeded_payment`), and ``refund.succeeded`` / ``refund.failed``
(:func:`apply_refund_answer`).

Every function here expects the case row locked by the caller (``SELECT ... FOR UPDATE``) and
decides by what the case and its history already hold, so a retry, a redelivery or a second
worker delivering the same answer at once sends no second command and writes no second row.
What the service does by itself here is audited (actor ``system``); :func:`refund_fee` is part
of the caller's action, which audits it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases.models import Case, CaseHistory
from case_service.cases.payments import LATE_PAYMENT_REFUND, REQUESTS_TOPIC, refund_request
from case_service.workflow.audit import SYSTEM, audit, snapshot
from city_shared.envelope import Event

__all__ = [
    "PAYMENT_REFUNDED",
    "REFUND_REQUESTED",
    "WITHDRAWAL_OCCASION",
    "apply_refund_answer",
    "refund_fee",
    "refund_unneeded_payment",
]

#: History type of a payment the case did not need, asked back from payment.
PAYMENT_REFUNDED: Final = "payment_refunded"
#: History type of the paid fee asked back (withdrawal).
REFUND_REQUESTED: Final = "refund_requested"
WITHDRAWAL_OCCASION: Final = "withdrawal"


def _history(case: Case, type_: str, now: datetime, **detail: object) -> CaseHistory:
    return CaseHistory(case_id=case.id, type=type_, status=case.status, at=now,
                       detail={k: v for k, v in detail.items() if v is not None})


async def _has_history(session: AsyncSession, case: Case, type_: str, key: str,
                       value: str) -> bool:
    found = await session.scalar(select(
        select(CaseHistory.id).where(CaseHistory.case_id == case.id, CaseHistory.type == type_,
                                     CaseHistory.detail[key].astext == value).exists()))
    return bool(found)


async def refund_fee(session: AsyncSession, case: Case, *, reason: str, now: datetime) -> int:
    """Ask payment to pay the case's paid fee back (``city.payment.refund.request.v1`` for
    ``fee_amount`` of the attempt that paid, ``request_id`` ``uuid5(case.id, "withdrawal")``),
    at most once per case whatever the retries: sets ``refund_status`` ``requested`` and adds
    a ``refund_requested`` history row. Returns the amount asked back; 0 if nothing was paid
    (no fee, unpaid) or it was asked back already (``refund_status`` set). ``reason``: a short
    code payment keeps with the refund (e.g. ``withdrawn``). The caller holds the row lock and
    bumps the case's version with its own transition."""
    if (case.fee_amount <= 0 or case.payment_status != "paid" or case.payment_id is None
            or case.refund_status is not None):
        return 0
    case.record(REQUESTS_TOPIC, refund_request(
        case, reference=case.reference, amount=case.fee_amount, reason=reason,
        occasion=WITHDRAWAL_OCCASION))
    case.refund_status = "requested"
    session.add(_history(case, REFUND_REQUESTED, now, payment_id=str(case.payment_id),
                         amount=case.fee_amount, currency=case.currency, reason=reason))
    return case.fee_amount


async def refund_unneeded_payment(session: AsyncSession, case: Case, *, payment_id: uuid.UUID,
                                  reference: str, amount: int, now: datetime,
                                  caused_by: Event | None = None) -> bool:
    """Money arrived that the case does not need (an earlier attempt's payment, or a payment
    after the case was paid by another or withdrawn): ask payment to pay ``amount`` of the
    payment of ``reference`` back in full (reason ``late_payment``, ``request_id``
    ``uuid5(case.id, "late:<payment_id>")``) and add a ``payment_refunded`` history row, once
    per payment. False (nothing recorded) if this payment was asked back already."""
    if await _has_history(session, case, PAYMENT_REFUNDED, "payment_id", str(payment_id)):
        return False
    case.record(REQUESTS_TOPIC, refund_request(
        case, reference=reference, amount=amount, reason=LATE_PAYMENT_REFUND,
        occasion=f"late:{payment_id}", caused_by=caused_by))
    session.add(_history(case, PAYMENT_REFUNDED, now, payment_id=str(payment_id),
                         amount=amount, currency=case.currency, reason=LATE_PAYMENT_REFUND))
    state = {**snapshot(case, "payment_status"),
             "payment_id": None if case.payment_id is None else str(case.payment_id)}
    audit(session, case, actor=SYSTEM, action=PAYMENT_REFUNDED, before=state,
          after={**state, "refunded_payment_id": str(payment_id), "amount": amount}, at=now)
    return True


async def apply_refund_answer(session: AsyncSession, case: Case,
                              outcome: Literal["succeeded", "failed"], *,
                              refund_id: uuid.UUID, payment_id: uuid.UUID, amount: int,
                              refunded_amount: int, requested_by: str, reason: str | None,
                              now: datetime) -> bool:
    """Payment answered about refund ``refund_id`` of one of the case's payments: a
    ``refund_succeeded`` / ``refund_failed`` history row (once per refund and outcome) and,
    when it is the paid fee's payment, ``refund_status``: a requested refund becomes
    ``refunded`` / ``failed``; a refund made at payment (``requested_by`` staff or client)
    that paid the whole fee back makes it ``refunded`` too. ``reason`` is kept only for
    refunds the case asked for (its own codes; staff's free text may name people). False if
    the answer was applied before."""
    type_ = f"refund_{outcome}"
    if await _has_history(session, case, type_, "refund_id", str(refund_id)):
        return False
    ours = requested_by == "source"
    fee_payment = case.payment_status == "paid" and case.payment_id == payment_id
    before = case.refund_status
    state = snapshot(case, "refund_status")
    if fee_payment and outcome == "succeeded" and (before in ("requested", "failed") or (
            not ours and refunded_amount >= case.fee_amount)):
        case.refund_status = "refunded"
    elif fee_payment and outcome == "failed" and ours and before == "requested":
        case.refund_status = "failed"
    if case.refund_status != before:
        case.version += 1
        case.updated_at = now
    session.add(_history(case, type_, now, refund_id=str(refund_id),
                         payment_id=str(payment_id), amount=amount,
                         refunded_amount=refunded_amount, requested_by=requested_by,
                         reason=reason if ours else None))
    audit(session, case, actor=SYSTEM, action=type_, before=state,
          after={**snapshot(case, "refund_status"), "refund_id": str(refund_id),
                 "payment_id": str(payment_id), "amount": amount}, at=now)
    return True
