"""Queries of the refunds slice. Every writer locks the payment row first (``FOR UPDATE``),
then the refund: refunds of one payment, the payment's own status changes and the ledger
bookings all run one after the other, in one lock order. Never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from payment_service.payments.models import Payment
from payment_service.refunds.models import Refund

__all__ = [
    "get",
    "list_for_payment",
    "lock_payment",
    "lock_refund",
    "pending_amount",
    "submittable",
]


async def lock_payment(session: AsyncSession, payment_id: uuid.UUID) -> Payment | None:
    """The payment with its row locked until the transaction ends, freshly read (pending
    changes of the session are flushed first)."""
    stmt = (
        select(Payment).where(Payment.id == payment_id)
        .with_for_update(of=Payment).execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def lock_refund(session: AsyncSession, refund_id: uuid.UUID) -> Refund | None:
    """The refund, row locked and freshly read; lock its payment first."""
    stmt = (
        select(Refund).where(Refund.id == refund_id)
        .with_for_update().execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def pending_amount(session: AsyncSession, payment_id: uuid.UUID,
                         positions: Collection[int] | None = None) -> int:
    """What the payment's submitted (not yet final) refunds hold; with ``positions``, those
    that may take money from any of these line items (refunds over all items included)."""
    stmt = select(func.coalesce(func.sum(Refund.amount), 0)).where(
        Refund.payment_id == payment_id, Refund.status == "submitted"
    )
    if positions is not None:
        stmt = stmt.where(or_(Refund.line_positions.is_(None),
                              Refund.line_positions.overlap(list(positions))))
    return int((await session.execute(stmt)).scalar_one())


async def get(
    session: AsyncSession, payment_id: uuid.UUID, refund_id: uuid.UUID
) -> Refund | None:
    """The refund ``refund_id`` of the payment ``payment_id``."""
    stmt = select(Refund).where(Refund.id == refund_id, Refund.payment_id == payment_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_for_payment(session: AsyncSession, payment_id: uuid.UUID) -> list[Refund]:
    """The payment's refunds, oldest first."""
    stmt = (select(Refund).where(Refund.payment_id == payment_id)
            .order_by(Refund.created_at, Refund.id))
    return list((await session.execute(stmt)).scalars())


async def submittable(session: AsyncSession, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Up to ``limit`` ``(payment_id, refund_id)`` of submitted refunds the provider has not
    taken yet (no provider refund id), oldest first."""
    stmt = (
        select(Refund.payment_id, Refund.id)
        .where(Refund.status == "submitted", Refund.provider_refund_id.is_(None))
        .order_by(Refund.created_at).limit(limit)
    )
    return [(p, r) for p, r in (await session.execute(stmt)).all()]
