"""Queries of drafts and their attachments; never commits. Every read of a draft is scoped to
its tenant and owner and leaves out expired drafts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, String, bindparam, delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.attachments.models import Attachment
from case_service.catalogue.models import ServiceDefinition
from case_service.drafts.models import Draft
from city_shared.pagination import Cursor

__all__ = [
    "attachment_count",
    "attachments_by_draft",
    "attachments_of",
    "delete_drafts",
    "expired_draft_ids",
    "owned_draft",
    "owned_draft_for_upload",
    "owned_drafts",
    "storage_keys_of",
]


_FOR_UPLOAD = (
    select(Draft, ServiceDefinition.attachments,
           select(func.count()).select_from(Attachment)
           .where(Attachment.draft_id == Draft.id).scalar_subquery())
    .join(ServiceDefinition, ServiceDefinition.id == Draft.definition_id)
    .where(Draft.id == bindparam("draft_id", type_=UUID(as_uuid=True)),
           Draft.tenant == bindparam("tenant", type_=String()),
           Draft.owner == bindparam("owner", type_=String()),
           Draft.expires_at > bindparam("now", type_=DateTime(timezone=True)))
)


async def owned_draft(session: AsyncSession, draft_id: uuid.UUID, *, tenant: str, owner: str,
                      now: datetime, lock: bool = False) -> Draft | None:
    """``draft_id`` if it belongs to ``owner`` in ``tenant`` and has not expired; ``lock``
    takes its row lock (changes serialise per draft)."""
    query = select(Draft).where(Draft.id == draft_id, Draft.tenant == tenant,
                                Draft.owner == owner, Draft.expires_at > now)
    if lock:
        # The row as it is now (a change committed meanwhile), not the one loaded earlier in
        # this session: the caller changes it under the lock.
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one_or_none()


async def owned_draft_for_upload(
        session: AsyncSession, draft_id: uuid.UUID, *, tenant: str, owner: str,
        now: datetime) -> tuple[Draft, list[dict[str, Any]], int] | None:
    """As :func:`owned_draft` (no lock), with its pinned definition's attachment specs and
    the number of its attachments, in one round trip (an upload checks all three before it
    reads a byte)."""
    row = (await session.execute(_FOR_UPLOAD, {
        "draft_id": draft_id, "tenant": tenant, "owner": owner, "now": now})).first()
    if row is None:
        return None
    draft, specs, count = row._tuple()
    return draft, list(specs or []), int(count)


async def owned_drafts(session: AsyncSession, *, tenant: str, owner: str, now: datetime,
                       after: Cursor | None, limit: int) -> Sequence[Draft]:
    """Up to ``limit`` + 1 live drafts of ``owner``, newest first on (created_at, id)."""
    query = select(Draft).where(Draft.tenant == tenant, Draft.owner == owner,
                                Draft.expires_at > now)
    if after is not None:
        query = query.where(tuple_(Draft.created_at, Draft.id) < (after.at, after.id))
    query = query.order_by(Draft.created_at.desc(), Draft.id.desc()).limit(limit + 1)
    return (await session.scalars(query)).all()


async def attachments_of(session: AsyncSession, draft_id: uuid.UUID) -> Sequence[Attachment]:
    """The draft's attachments, oldest first."""
    return (await session.scalars(
        select(Attachment).where(Attachment.draft_id == draft_id)
        .order_by(Attachment.created_at, Attachment.id))).all()


async def attachments_by_draft(session: AsyncSession, draft_ids: Sequence[uuid.UUID]
                               ) -> dict[uuid.UUID, list[Attachment]]:
    """The attachments of each of ``draft_ids`` (oldest first), in one query."""
    found: dict[uuid.UUID, list[Attachment]] = {draft_id: [] for draft_id in draft_ids}
    for attachment in (await session.scalars(
            select(Attachment).where(Attachment.draft_id.in_(draft_ids))
            .order_by(Attachment.created_at, Attachment.id))).all():
        if attachment.draft_id is not None:
            found.setdefault(attachment.draft_id, []).append(attachment)
    return found


async def attachment_count(session: AsyncSession, draft_id: uuid.UUID) -> int:
    return await session.scalar(
        select(func.count()).select_from(Attachment).where(Attachment.draft_id == draft_id)) or 0


async def storage_keys_of(session: AsyncSession, draft_ids: Sequence[uuid.UUID]) -> list[str]:
    """The storage keys of the attachments still on ``draft_ids``."""
    return list((await session.scalars(
        select(Attachment.storage_key).where(Attachment.draft_id.in_(draft_ids)))).all())


async def expired_draft_ids(session: AsyncSession, *, now: datetime,
                            limit: int) -> list[uuid.UUID]:
    """Up to ``limit`` drafts past ``expires_at``, locked and skipped by a concurrent sweep."""
    return list((await session.scalars(
        select(Draft.id).where(Draft.expires_at <= now).order_by(Draft.expires_at)
        .limit(limit).with_for_update(skip_locked=True))).all())


async def delete_drafts(session: AsyncSession, draft_ids: Sequence[uuid.UUID]) -> None:
    """Delete ``draft_ids`` with their attachment rows (the blobs are the caller's)."""
    await session.execute(delete(Attachment).where(Attachment.draft_id.in_(draft_ids)))
    await session.execute(delete(Draft).where(Draft.id.in_(draft_ids)))
