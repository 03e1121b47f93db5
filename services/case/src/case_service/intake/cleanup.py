"""The cleanup job: submissions still ``incomplete`` a day after they were announced are
deleted with their uploaded ciphertexts and events (FIT-Connect removes them alike).

Several workers may sweep at once: rows are locked ``FOR UPDATE SKIP LOCKED``, so a submission
being submitted at that moment is left alone (it is no longer incomplete afterwards).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from case_service.intake import repository
from case_service.settings import CaseSettings
from city_shared.unit_of_work import unit_of_work

__all__ = ["INCOMPLETE_TTL", "remove_incomplete", "run_incomplete_cleanup"]

log = logging.getLogger(__name__)

INCOMPLETE_TTL: Final = timedelta(days=1)
_INTERVAL_SECONDS: Final = 300.0
_BATCH: Final = 200


async def remove_incomplete(session: AsyncSession, now: datetime, limit: int = _BATCH) -> int:
    """Delete up to ``limit`` submissions incomplete since before ``now`` - one day, in the
    caller's unit of work; returns how many."""
    return await repository.delete_stale_incomplete(session, now - INCOMPLETE_TTL, limit)


async def run_incomplete_cleanup(sessions: async_sessionmaker[AsyncSession],
                                 settings: CaseSettings, stop: asyncio.Event) -> None:
    """Remove stale incomplete submissions until ``stop``: batches back to back while they come
    full, then a pause of five minutes. A failed round is logged and tried again next time."""
    while not stop.is_set():
        try:
            while not stop.is_set():
                async with unit_of_work(sessions) as session:
                    removed = await remove_incomplete(session, datetime.now(UTC))
                if removed < _BATCH:
                    break
        except Exception as exc:  # logged without its message: it may quote row values
            log.warning("intake cleanup round failed; retrying after the interval",
                        extra={"error": type(exc).__name__})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=_INTERVAL_SECONDS)
