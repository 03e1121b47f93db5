"""The draft-expiry job: drafts not changed for ``draft_ttl_hours`` (past ``expires_at``) are
deleted with their attachments and the attachments' contents. Several workers may sweep at once:
each batch locks its drafts ``FOR UPDATE SKIP LOCKED``."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from case_service.attachments.storage import BlobStorage, blob_storage
from case_service.drafts import repository
from case_service.settings import CaseSettings
from city_shared.sweeps import run_sweep

__all__ = ["BATCH_SIZE", "INTERVAL_SECONDS", "delete_expired_drafts", "expire_drafts"]

INTERVAL_SECONDS: Final = 60.0
BATCH_SIZE: Final = 200


async def delete_expired_drafts(session: AsyncSession, *, now: datetime, storage: BlobStorage,
                                limit: int = BATCH_SIZE) -> int:
    """Delete up to ``limit`` drafts expired by ``now`` in the caller's unit of work, contents
    first; returns how many."""
    due = await repository.expired_draft_ids(session, now=now, limit=limit)
    if not due:
        return 0
    for key in await repository.storage_keys_of(session, due):
        await storage.delete(session, key)
    await repository.delete_drafts(session, due)
    return len(due)


async def expire_drafts(sessions: async_sessionmaker[AsyncSession], settings: CaseSettings,
                        stop: asyncio.Event) -> None:
    """Delete expired drafts until ``stop`` (a :func:`run_sweep` every
    :data:`INTERVAL_SECONDS`)."""
    storage = blob_storage(settings)

    async def sweep(session: AsyncSession, now: datetime) -> int:
        return await delete_expired_drafts(session, now=now, storage=storage)

    await run_sweep(sessions, sweep, stop, name="draft expiry", interval=INTERVAL_SECONDS,
                    batch_size=BATCH_SIZE)
