"""Stalled sagas made visible: a journey that waits on another service longer than it ever
should (an order whose payment was never created, a payment whose outcome never came) is
counted, exported as a Prometheus gauge and shown on ``/readyz``, instead of being noticed only
by the citizen who gives up.

Each service supplies a :data:`StallCounter`: one cheap indexed ``COUNT`` per kind of stall,
keyed by a stable kind name. The worker refreshes the gauge with :func:`watch_stalled_sagas`;
the API runs the counter on ``/readyz`` (see :func:`city_shared.app.create_service_app`), where a
stall is detail only and never makes the service unready (that would take the API out of the
load balancer while it works). What is done about a stall is not decided here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from prometheus_client import Gauge
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from city_shared.heartbeats import job_started, job_succeeded
from city_shared.unit_of_work import unit_of_work

__all__ = [
    "STALLED_SAGAS",
    "StallCounter",
    "count_stalled_sagas",
    "watch_stalled_sagas",
]

log = logging.getLogger(__name__)

#: The stall watcher's name in its heartbeat.
STALL_WATCH_JOB = "stalled sagas"

#: Counts the stalls of each kind in the session it is given (read only; the caller owns the
#: transaction and its statement timeout).
StallCounter = Callable[[AsyncSession], Awaitable[Mapping[str, int]]]

STALLED_SAGAS = Gauge(
    "city_stalled_sagas",
    "Journeys waiting on another service past their threshold, by kind; refreshed by the "
    "worker and on /readyz.",
    ["service", "kind"],
    # Several API workers each count on /readyz: the newest count is the one that holds.
    multiprocess_mode="mostrecent",
)


async def count_stalled_sagas(
    sessions: async_sessionmaker[AsyncSession],
    counter: StallCounter,
    *,
    service: str,
    timeout_ms: int = 1000,
) -> dict[str, int]:
    """Run ``counter`` in a read-only transaction whose statements time out after
    ``timeout_ms``, set :data:`STALLED_SAGAS` for each kind and return the counts.

    :raises Exception: whatever the database raised (the gauge keeps its last values).
    """
    async with unit_of_work(sessions) as session:
        await session.execute(text("SET TRANSACTION READ ONLY"))
        await session.execute(text(f"SET LOCAL statement_timeout = {int(timeout_ms)}"))
        counts = {kind: int(n) for kind, n in (await counter(session)).items()}
    for kind, n in counts.items():
        STALLED_SAGAS.labels(service, kind).set(n)
    return counts


async def watch_stalled_sagas(
    sessions: async_sessionmaker[AsyncSession],
    counter: StallCounter,
    stop: asyncio.Event,
    *,
    service: str,
    interval: float,
) -> None:
    """A worker job: refresh the gauge every ``interval`` seconds until ``stop`` is set. A
    failed round (e.g. the database briefly away) is logged and tried again next round; a
    stall found is logged as a warning each round it lasts. A good round is the heartbeat
    ``stalled sagas`` (:mod:`city_shared.heartbeats`): a gauge nobody refreshes would show
    yesterday's zero."""
    job_started(STALL_WATCH_JOB, interval)
    while not stop.is_set():
        try:
            counts = await count_stalled_sagas(sessions, counter, service=service)
        except Exception as exc:  # logged without its message: it may name the database
            log.warning("counting stalled sagas failed; retrying after the interval",
                        extra={"error": type(exc).__name__})
        else:
            job_succeeded(STALL_WATCH_JOB)
            stalled = {kind: n for kind, n in counts.items() if n}
            if stalled:
                log.warning("stalled sagas", extra={"stalled_sagas": stalled})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
