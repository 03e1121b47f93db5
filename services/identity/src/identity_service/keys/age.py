"""The active signing key's age made visible, so that a rotation that is due is noticed: identity
rotates only when a platform admin calls ``POST /admin/keys/rotate`` (docs/runbook.md).

The worker's job :func:`watch_active_key` exports when the active key started signing as the
gauge ``city_signing_key_activated_timestamp_seconds``; the alert ``SigningKeyRotationDue``
compares it with the rotation period. Only a timestamp leaves the database, never a kid.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from city_shared.heartbeats import job_started, job_succeeded
from city_shared.unit_of_work import unit_of_work
from identity_service.keys import repository

__all__ = ["KEY_AGE_JOB", "SIGNING_KEY_ACTIVATED", "refresh_key_age", "watch_active_key"]

log = logging.getLogger(__name__)

#: The job's name in its heartbeat.
KEY_AGE_JOB: Final = "signing key age"

SIGNING_KEY_ACTIVATED: Final = Gauge(
    "city_signing_key_activated_timestamp_seconds",
    "Unix time at which identity's active token signing key started signing.",
    multiprocess_mode="max",
)


async def refresh_key_age(sessions: async_sessionmaker[AsyncSession]) -> float | None:
    """Set :data:`SIGNING_KEY_ACTIVATED` from the active key and return its value; None (gauge
    unchanged) while there is no active key yet (the API creates it at its first start)."""
    async with unit_of_work(sessions) as session:
        since = await repository.active_since(session)
    if since is None:
        return None
    SIGNING_KEY_ACTIVATED.set(since.timestamp())
    return since.timestamp()


async def watch_active_key(sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event, *,
                           interval: float) -> None:
    """A worker job: :func:`refresh_key_age` every ``interval`` seconds until ``stop``; a failed
    round (the database briefly away) is logged by type and tried again next round."""
    job_started(KEY_AGE_JOB, interval)
    while not stop.is_set():
        try:
            await refresh_key_age(sessions)
        except Exception as exc:  # logged without its message: it may name the database
            log.warning("reading the signing key's age failed; retrying after the interval",
                        extra={"error": type(exc).__name__})
        else:
            job_succeeded(KEY_AGE_JOB)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
