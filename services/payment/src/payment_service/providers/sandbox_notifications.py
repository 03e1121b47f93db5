"""The sandbox provider's own records (migration 0005): what the person decided on its pay page,
and the webhook that tells the payment service, until it has been delivered.

A decision is written in the pay page's transaction, so it survives any process; the worker's
delivery job (:mod:`.sandbox_delivery`) sends the webhook, and ``fetch_status`` answers from the
same row. One decision per provider payment id: the first one stands, as at a real provider.
Never commits.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from payment_service.payments.models import Base
from payment_service.providers.base import OutcomeKind

__all__ = [
    "SandboxNotification",
    "claim_due",
    "decision_of",
    "record_decision",
]

class SandboxNotification(Base):
    """One decision on the sandbox page and the delivery state of its webhook.

    ``due_at`` is when the next attempt is due; NULL once delivered, rejected or given up.
    ``last_status`` is the HTTP status of the last answer (NULL: none, e.g. unreachable).
    """

    __tablename__ = "sandbox_notifications"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider_payment_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def outcome_kind(self) -> OutcomeKind:
        return "payment.succeeded" if self.kind == "payment.succeeded" else "payment.failed"

    def body(self) -> dict[str, object]:
        """The webhook's JSON body (see :mod:`.webhooks`)."""
        data: dict[str, object] = {"provider_payment_id": self.provider_payment_id,
                                   "amount": self.amount, "currency": self.currency}
        if self.reason is not None:
            data["reason"] = self.reason
        return {"id": self.id, "type": self.kind, "created": int(self.decided_at.timestamp()),
                "data": data}


async def record_decision(
    session: AsyncSession, *, provider_payment_id: str, kind: OutcomeKind, amount: int,
    currency: str, reason: str | None, now: datetime,
) -> SandboxNotification:
    """Record the decision and its webhook, due at once; if the payment was decided before,
    nothing changes and the first decision is returned."""
    await session.execute(
        insert(SandboxNotification)
        .values(id=f"evt_{uuid.uuid4().hex}", provider_payment_id=provider_payment_id,
                kind=kind, amount=amount, currency=currency, reason=reason, decided_at=now,
                due_at=now, attempts=0)
        .on_conflict_do_nothing(constraint="uq_sandbox_notifications_provider_payment")
    )
    decided = await decision_of(session, provider_payment_id)
    assert decided is not None
    return decided


async def decision_of(
    session: AsyncSession, provider_payment_id: str
) -> SandboxNotification | None:
    """The decision made for ``provider_payment_id``, if any."""
    stmt = (select(SandboxNotification)
            .where(SandboxNotification.provider_payment_id == provider_payment_id)
            .execution_options(populate_existing=True))
    return (await session.execute(stmt)).scalar_one_or_none()


async def claim_due(session: AsyncSession, now: datetime) -> SandboxNotification | None:
    """The webhook due longest, locked until the transaction ends; webhooks another
    transaction holds (another worker sending it) are skipped, not waited for."""
    stmt = (
        select(SandboxNotification)
        .where(SandboxNotification.due_at.is_not(None), SandboxNotification.due_at <= now)
        .order_by(SandboxNotification.due_at)
        .limit(1)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()
