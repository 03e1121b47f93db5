"""Periodic sweeps of a worker (expire holds, delete stale drafts, purge old files): one way to
run a batch job that survives faults.

:func:`run_sweep` runs ``sweep(session, now)`` in a unit of work of its own, again at once while
a round comes back full (more is due), then waits ``interval`` seconds or until ``stop``. A round
that fails (the database restarting, a lock timeout, a bug in one row) is rolled back, logged by
its exception type only (messages may quote row values) and tried again after ``interval``: the
job never ends before ``stop`` and never stops the worker's other tasks. Several workers may run
the same sweep at once when it locks its rows ``FOR UPDATE SKIP LOCKED``.

Every round that completes is a heartbeat (:mod:`city_shared.heartbeats`, by ``name``), so an
alert notices a sweep that stopped succeeding.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from city_shared.heartbeats import job_started, job_succeeded
from city_shared.unit_of_work import unit_of_work

__all__ = ["Sweep", "run_sweep"]

log = logging.getLogger(__name__)

Sweep = Callable[[AsyncSession, datetime], Awaitable[int]]
"""One round: handles up to its batch of due rows at ``now`` in the given session (never
commits) and returns how many it handled."""


async def run_sweep(sessions: async_sessionmaker[AsyncSession], sweep: Sweep,
                    stop: asyncio.Event, *, name: str, interval: float,
                    batch_size: int | None = None) -> None:
    """Run ``sweep`` until ``stop`` is set (see the module). ``batch_size``: a round that
    handles this many is followed at once by the next; None: one round per interval.
    ``name`` names the sweep in logs and in its heartbeat."""
    job_started(name, interval)
    while not stop.is_set():
        try:
            while not stop.is_set():
                async with unit_of_work(sessions) as session:
                    handled = await sweep(session, datetime.now(UTC))
                if handled:
                    log.info("sweep round done", extra={"sweep": name, "handled": handled})
                if batch_size is None or handled < batch_size:
                    break
            job_succeeded(name)
        except Exception as exc:  # logged without its message: it may quote row values
            log.warning("sweep round failed; retrying after the interval",
                        extra={"sweep": name, "error": type(exc).__name__})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
