"""The retention job: a case file whose retention period has ended (``retain_until`` before
today) is purged with its attachments, documents, their contents, its history and its audit
trail. Several workers may sweep at once: each batch locks its cases ``FOR UPDATE SKIP
LOCKED``."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from typing import Final

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from case_service.attachments.models import Attachment
from case_service.attachments.storage import BlobStorage, blob_storage
from case_service.cases.models import Case
from case_service.documents.retention import delete_document_contents
from case_service.settings import CaseSettings
from city_shared.sweeps import run_sweep

__all__ = ["BATCH_SIZE", "INTERVAL_SECONDS", "purge_expired_cases", "run_retention"]

INTERVAL_SECONDS: Final = 3600.0
BATCH_SIZE: Final = 200


async def purge_expired_cases(session: AsyncSession, *, today: date, storage: BlobStorage,
                              limit: int = BATCH_SIZE) -> list[uuid.UUID]:
    """Delete up to ``limit`` cases whose ``retain_until`` lies before ``today`` in the caller's
    unit of work, contents first; returns their ids."""
    due = list((await session.scalars(
        select(Case.id).where(Case.retain_until < today).order_by(Case.retain_until)
        .limit(limit).with_for_update(skip_locked=True))).all())
    if not due:
        return []
    # The audit trail refuses deletes but from the retention purge (migration 0007).
    await session.execute(text("SELECT set_config('city.case_purging', 'on', true)"))
    keys = (await session.scalars(
        select(Attachment.storage_key).where(Attachment.case_id.in_(due)))).all()
    for key in keys:
        await storage.delete(session, key)
    await delete_document_contents(session, due, storage)
    await session.execute(delete(Case).where(Case.id.in_(due)))
    return due


async def run_retention(sessions: async_sessionmaker[AsyncSession], settings: CaseSettings,
                        stop: asyncio.Event) -> None:
    """Purge case files past their retention until ``stop`` (a :func:`run_sweep` every
    :data:`INTERVAL_SECONDS`)."""
    storage = blob_storage(settings)

    async def sweep(session: AsyncSession, now: datetime) -> int:
        return len(await purge_expired_cases(session, today=now.date(), storage=storage))

    await run_sweep(sessions, sweep, stop, name="case retention", interval=INTERVAL_SECONDS,
                    batch_size=BATCH_SIZE)
