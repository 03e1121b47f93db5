"""The draft-expiry job: drafts not changed for ``draft_ttl_hours`` (past ``expires_at``) are
deleted with their attachments and the attachments' contents. Several workers may sweep at once:
each batch locks its drafts ``FOR UPDATE SKIP LOCKED``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from case_service.attachments.storage import BlobStorage, blob_storage
from case_service.drafts import repository
from case_service.settings import CaseSettings
from city_shared.unit_of_work import unit_of_work

__all__ = ["BATCH_SIZE", "INTERVAL_SECONDS", "delete_expired_drafts", "expire_drafts"]

log = logging.getLogger(__name__)

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
    """Delete expired drafts until ``stop``: batches back to back while they come full, then a
    pause of :data:`INTERVAL_SECONDS`. A failed round is logged and tried again next time."""
    storage = blob_storage(settings)
    while not stop.is_set():
        try:
            while not stop.is_set():
                async with unit_of_work(sessions) as session:
                    deleted = await delete_expired_drafts(session, now=datetime.now(UTC),
                                                          storage=storage)
                if deleted < BATCH_SIZE:
                    break
        except Exception as exc:  # logged without its message: it may quote row values
            log.warning("draft expiry round failed; retrying after the interval",
                        extra={"error": type(exc).__name__})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=INTERVAL_SECONDS)
