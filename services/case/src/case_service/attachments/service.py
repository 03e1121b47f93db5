"""Use cases of a draft's attachments: add one from a streamed upload, read and remove one.
The content goes to the :class:`BlobStorage` in the same transaction as the metadata row;
nothing here commits."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from case_service.access import draft_owner
from case_service.attachments.errors import AttachmentNotFound, TooManyAttachments
from case_service.attachments.models import Attachment
from case_service.attachments.storage import BlobStorage
from case_service.attachments.upload import (
    attachment_kind,
    check_media_type,
    receive_upload,
    sanitize_filename,
)
from case_service.drafts import repository
from case_service.drafts.errors import DraftNotFound, DraftSubmitted
from case_service.drafts.service import open_draft, touch
from case_service.settings import CaseSettings
from city_shared.auth import Principal

__all__ = ["add_attachment", "attachment_content", "remove_attachment"]


async def add_attachment(session: AsyncSession, principal: Principal, draft_id: uuid.UUID, *,
                         kind: str, filename: str | None, declared: str | None,
                         chunks: AsyncIterator[bytes], settings: CaseSettings,
                         storage: BlobStorage, now: datetime) -> Attachment:
    """Store the upload in ``chunks`` as an attachment of ``kind`` to the caller's open draft.

    Access, the kind and the count are checked before a byte is read; the body is then read
    up to the kind's limit (never beyond), sniffed and checked, and the draft is locked for
    the count check that counts. A refused upload stores nothing.

    :raises DraftNotFound: (404), :raises DraftSubmitted: (409),
    :raises UnknownAttachmentKind: (422) the service asks for no such kind,
    :raises TooManyAttachments: (409) ``settings.attachments_per_draft`` reached,
    :raises AttachmentTooLarge: (413) over the kind's (or the service-wide) limit,
    :raises AttachmentTypeNotAllowed: (415) content not of an allowed type, or not ``declared``.
    """
    found = await repository.owned_draft_for_upload(
        session, draft_id, tenant=principal.tenant, owner=draft_owner(principal), now=now)
    if found is None:
        raise DraftNotFound()
    draft, specs, count = found
    if draft.submitted_case_id is not None:
        raise DraftSubmitted()
    spec = attachment_kind(specs, kind)
    if count >= settings.attachments_per_draft:
        raise TooManyAttachments(settings.attachments_per_draft)
    received = await receive_upload(chunks, max_bytes=spec.limit(settings.attachment_max_bytes))
    media_type = check_media_type(received.content, declared=declared or "",
                                  allowed=spec.media_types)
    draft = await open_draft(session, principal, draft_id, now=now, lock=True, writable=True)
    await _check_room(session, draft.id, settings)
    attachment_id = uuid.uuid4()
    attachment = Attachment(
        id=attachment_id, tenant=draft.tenant, draft_id=draft.id, kind=spec.kind,
        filename=sanitize_filename(filename), media_type=media_type, size=received.size,
        sha256=received.sha256, storage_key=f"attachments/{attachment_id}", created_at=now)
    await storage.put(session, attachment.storage_key, received.content)
    session.add(attachment)
    touch(draft, settings, now)
    await session.flush()
    return attachment


async def attachment_content(session: AsyncSession, principal: Principal, draft_id: uuid.UUID,
                             attachment_id: uuid.UUID, *, storage: BlobStorage,
                             now: datetime) -> tuple[Attachment, bytes]:
    """An attachment of the caller's draft and its content.

    :raises DraftNotFound: (404), :raises AttachmentNotFound: (404) not on this draft.
    """
    attachment = await _attachment(session, principal, draft_id, attachment_id, now=now,
                                   writable=False)
    content = await storage.get(session, attachment.storage_key)
    if content is None:
        raise AttachmentNotFound()
    return attachment, content


async def remove_attachment(session: AsyncSession, principal: Principal, draft_id: uuid.UUID,
                            attachment_id: uuid.UUID, *, settings: CaseSettings,
                            storage: BlobStorage, now: datetime) -> None:
    """Delete an attachment of the caller's open draft with its content.

    :raises DraftNotFound: (404), :raises DraftSubmitted: (409),
    :raises AttachmentNotFound: (404) not on this draft.
    """
    attachment = await _attachment(session, principal, draft_id, attachment_id, now=now,
                                   writable=True)
    draft = await open_draft(session, principal, draft_id, now=now, lock=True, writable=True)
    await storage.delete(session, attachment.storage_key)
    await session.delete(attachment)
    touch(draft, settings, now)
    await session.flush()


async def _attachment(session: AsyncSession, principal: Principal, draft_id: uuid.UUID,
                      attachment_id: uuid.UUID, *, now: datetime, writable: bool) -> Attachment:
    draft = await open_draft(session, principal, draft_id, now=now, writable=writable)
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None or attachment.draft_id != draft.id:
        raise AttachmentNotFound()
    return attachment


async def _check_room(session: AsyncSession, draft_id: uuid.UUID,
                      settings: CaseSettings) -> None:
    if await repository.attachment_count(session, draft_id) >= settings.attachments_per_draft:
        raise TooManyAttachments(settings.attachments_per_draft)
