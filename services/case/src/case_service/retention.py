"""The retention job: a case file whose retention period has ended (``retain_until`` before
today) is purged with its attachments, their contents and its history. Several workers may sweep
at once: each batch locks its cases ``FOR UPDATE SKIP LOCKED``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, date, datetime
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from case_service.attachments.models import Attachment
from case_service.attachments.storage import BlobStorage, blob_storage
from case_service.cases.models import Case
from case_service.settings import CaseSettings
from city_shared.unit_of_work import unit_of_work

__all__ = ["BATCH_SIZE", "INTERVAL_SECONDS", "purge_expired_cases", "run_retention"]

log = logging.getLogger(__name__)

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
    keys = (await session.scalars(
        select(Attachment.storage_key).where(Attachment.case_id.in_(due)))).all()
    for key in keys:
        await storage.delete(session, key)
    await session.execute(delete(Case).where(Case.id.in_(due)))
    return due


async def run_retention(sessions: async_sessionmaker[AsyncSession], settings: CaseSettings,
                        stop: asyncio.Event) -> None:
    """Purge case files past their retention until ``stop``: batches back to back while they
    come full, then a pause of :data:`INTERVAL_SECONDS`. A failed round is logged and tried
    again next time."""
    storage = blob_storage(settings)
    while not stop.is_set():
        try:
            while not stop.is_set():
                async with unit_of_work(sessions) as session:
                    purged = await purge_expired_cases(
                        session, today=datetime.now(UTC).date(), storage=storage)
                if purged:
                    log.info("case files purged after retention", extra={"cases": len(purged)})
                if len(purged) < BATCH_SIZE:
                    break
        except Exception as exc:  # logged without its message: it may quote row values
            log.warning("retention round failed; retrying after the interval",
                        extra={"error": type(exc).__name__})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=INTERVAL_SECONDS)
