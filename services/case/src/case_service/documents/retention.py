"""The documents' part of purging a case file: their contents live in the blob storage, which
the cascade that deletes their rows with the case does not reach."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.attachments.storage import BlobStorage
from case_service.documents.models import CaseDocument

__all__ = ["delete_document_contents"]


async def delete_document_contents(session: AsyncSession, case_ids: Sequence[uuid.UUID],
                                   storage: BlobStorage) -> int:
    """Delete the stored contents of every document of ``case_ids`` (call it before the cases
    are deleted, in the same unit of work); returns how many. Idempotent."""
    if not case_ids:
        return 0
    keys = (await session.scalars(select(CaseDocument.storage_key).where(
        CaseDocument.case_id.in_(list(case_ids))))).all()
    for key in keys:
        await storage.delete(session, key)
    return len(keys)
