"""The hold-expiry job: unpaid orders whose hold ran out become ``expired`` (reason
``hold_expired``), their places are released and ``order.expired`` is published.

Sweepers may run in several workers at once: each batch locks its orders ``FOR UPDATE SKIP
LOCKED``, so no order is expired twice, and an order whose payment answer is being applied at
that moment is simply left for the next round (by then it is confirmed or closed).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from city_shared.journey import resume
from city_shared.sweeps import run_sweep
from ticketing_service.orders import repository, service
from ticketing_service.settings import TicketingSettings

__all__ = ["HOLD_EXPIRED", "HOLD_EXPIRY_JOB", "expire_due_holds", "run_hold_expiry"]

#: The sweep's name in logs and in its heartbeat (the alert HoldExpiryNotRunning selects it).
HOLD_EXPIRY_JOB = "hold expiry"

HOLD_EXPIRED = "hold_expired"


async def expire_due_holds(session: AsyncSession, now: datetime, limit: int) -> int:
    """Expire up to ``limit`` orders whose hold ran out by ``now``, in the caller's unit of
    work; returns how many."""
    due = await repository.due_holds(session, now, limit)
    for order in due:
        # The expiry belongs to the buyer's journey: its event carries that correlation id
        # and continues that trace.
        with resume("order hold expired", order.journey):
            await service.close_unpaid_order(session, order, "expired", HOLD_EXPIRED, now=now)
    return len(due)


async def run_hold_expiry(sessions: async_sessionmaker[AsyncSession],
                          settings: TicketingSettings, stop: asyncio.Event) -> None:
    """Expire orders whose hold ran out, releasing their capacity, until ``stop`` (a
    :func:`run_sweep` every ``hold_sweep_interval_seconds``)."""

    async def sweep(session: AsyncSession, now: datetime) -> int:
        return await expire_due_holds(session, now, settings.hold_sweep_batch_size)

    await run_sweep(sessions, sweep, stop, name=HOLD_EXPIRY_JOB,
                    interval=settings.hold_sweep_interval_seconds,
                    batch_size=settings.hold_sweep_batch_size)
