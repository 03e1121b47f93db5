"""The cleanup job: submissions still ``incomplete`` a day after they were announced are
deleted with their uploaded ciphertexts and events (FIT-Connect removes them alike).

Several workers may sweep at once: rows are locked ``FOR UPDATE SKIP LOCKED``, so a submission
being submitted at that moment is left alone (it is no longer incomplete afterwards).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from case_service.intake import repository
from case_service.settings import CaseSettings
from city_shared.sweeps import run_sweep

__all__ = ["INCOMPLETE_TTL", "remove_incomplete", "run_incomplete_cleanup"]

INCOMPLETE_TTL: Final = timedelta(days=1)
_INTERVAL_SECONDS: Final = 300.0
_BATCH: Final = 200


async def remove_incomplete(session: AsyncSession, now: datetime, limit: int = _BATCH) -> int:
    """Delete up to ``limit`` submissions incomplete since before ``now`` - one day, in the
    caller's unit of work; returns how many."""
    return await repository.delete_stale_incomplete(session, now - INCOMPLETE_TTL, limit)


async def run_incomplete_cleanup(sessions: async_sessionmaker[AsyncSession],
                                 settings: CaseSettings, stop: asyncio.Event) -> None:
    """Remove stale incomplete submissions until ``stop`` (a :func:`run_sweep` every five
    minutes)."""
    del settings
    await run_sweep(sessions, remove_incomplete, stop, name="intake cleanup",
                    interval=_INTERVAL_SECONDS, batch_size=_BATCH)
