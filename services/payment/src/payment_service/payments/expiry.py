"""The worker's expiry job: open payments past ``expires_at`` become ``expired``.

:func:`expire_due` is the use case (never commits); :func:`expire_overdue` runs one unit of
work per batch and :func:`run_expiry` repeats it until stopped. Rows locked by a
concurrent writer (a webhook being applied, another worker) are skipped and picked up in a
later round, so two workers never expire the same payment and a success that got the lock
first wins.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from city_shared.heartbeats import job_started, job_succeeded
from city_shared.journey import resume
from city_shared.unit_of_work import unit_of_work
from payment_service.payments import repository, service

__all__ = ["expire_due", "expire_overdue", "run_expiry"]

log = logging.getLogger(__name__)

#: The job's name in its heartbeat (the alert PaymentExpiryNotRunning selects it).
EXPIRY_JOB = "payment expiry"


async def expire_due(session: AsyncSession, now: datetime, limit: int) -> int:
    """Expire up to ``limit`` overdue open payments in the caller's transaction (reason
    ``expired``, history entry, ``expired`` event each); returns how many."""
    due = await repository.lock_overdue(session, now, limit)
    for payment in due:
        with resume("payment expiry", payment.journey):
            await service.change_status(session, payment, "expired", service.EXPIRED, now)
    return len(due)


async def expire_overdue(
    sessions: async_sessionmaker[AsyncSession], *, batch_size: int = 100,
    now: datetime | None = None,
) -> int:
    """Expire every payment overdue at ``now`` (default: the current time), a batch per
    committed transaction; returns how many."""
    total = 0
    while True:
        async with unit_of_work(sessions) as session:
            done = await expire_due(session, now or service.now_utc(), batch_size)
        total += done
        if done < batch_size:
            return total


async def run_expiry(
    sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event, *, interval: float,
    batch_size: int,
) -> None:
    """Run :func:`expire_overdue` every ``interval`` seconds until ``stop`` is set. A failed
    round (e.g. the database briefly away) is logged and tried again next round; a good one is
    the heartbeat ``payment expiry`` (:mod:`city_shared.heartbeats`)."""
    job_started(EXPIRY_JOB, interval)
    while not stop.is_set():
        try:
            expired = await expire_overdue(sessions, batch_size=batch_size)
        except Exception as exc:
            log.error("expiry round failed", extra={"error": type(exc).__name__}, exc_info=exc)
        else:
            job_succeeded(EXPIRY_JOB)
            if expired:
                log.info("payments expired", extra={"count": expired})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
