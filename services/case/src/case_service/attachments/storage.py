"""Where attachment contents live: the :class:`BlobStorage` interface and its default
implementation in the case database. Metadata rows (:class:`Attachment`) are not stored here."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.attachments.models import AttachmentBlob
from case_service.settings import CaseSettings

__all__ = ["BlobStorage", "DatabaseBlobStorage", "blob_storage"]


class BlobStorage(Protocol):
    """Contents of attachments by storage key.

    Every method receives the caller's session: a store inside the case database joins the
    caller's transaction, so content and metadata row commit or roll back together. An
    S3-compatible store would implement the same three methods (ignoring the session, writing
    under the key, deleting idempotently) and accept that a rolled-back upload leaves an
    orphan object behind for a sweeper.
    """

    async def put(self, session: AsyncSession, key: str, content: bytes) -> None:
        """Store ``content`` under ``key`` (a new key; keys are never reused)."""
        ...

    async def get(self, session: AsyncSession, key: str) -> bytes | None:
        """The content under ``key``, None if there is none."""
        ...

    async def delete(self, session: AsyncSession, key: str) -> None:
        """Remove ``key``'s content; nothing happens if there is none (idempotent)."""
        ...


class DatabaseBlobStorage:
    """The default store: the ``attachment_blobs`` table, written in the caller's transaction
    (never commits; the request's unit of work does)."""

    async def put(self, session: AsyncSession, key: str, content: bytes) -> None:
        session.add(AttachmentBlob(key=key, content=content))
        await session.flush()

    async def get(self, session: AsyncSession, key: str) -> bytes | None:
        blob = await session.get(AttachmentBlob, key)
        return None if blob is None else blob.content

    async def delete(self, session: AsyncSession, key: str) -> None:
        await session.execute(delete(AttachmentBlob).where(AttachmentBlob.key == key))


_STORES: dict[str, type[DatabaseBlobStorage]] = {"database": DatabaseBlobStorage}


def blob_storage(settings: CaseSettings) -> BlobStorage:
    """The store ``settings.attachment_storage`` names (only ``"database"`` exists; the setting
    refuses anything else when it is read)."""
    return _STORES[settings.attachment_storage]()
