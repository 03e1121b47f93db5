"""The photo of an Open311 report (multipart field ``media``): received with the size limit of
the service's photo kind, its type checked by content, stored through the attachment storage in
the report's transaction. The attachment row is returned unsaved: ``open_case`` assigns it to
the case and adds it to the session."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from case_service.attachments.models import Attachment
from case_service.attachments.storage import blob_storage
from case_service.attachments.upload import (
    AttachmentKind,
    attachment_kind,
    check_media_type,
    receive_upload,
    sanitize_filename,
)
from case_service.catalogue.models import ServiceDefinition
from case_service.open311.errors import InvalidParameter
from case_service.settings import CaseSettings

__all__ = ["PHOTO_KIND", "Upload", "photo_kind", "receive_photo"]

#: The attachment kind a photo is stored as, if the definition has it; else its first kind that
#: accepts only images.
PHOTO_KIND: Final = "photo"
_UNTYPED = frozenset({"", "application/octet-stream"})


@dataclass(frozen=True)
class Upload:
    """A file part as the client sent it: its bytes as a stream, its name and declared type."""

    chunks: AsyncIterator[bytes]
    filename: str | None
    content_type: str | None


def photo_kind(definition: ServiceDefinition) -> AttachmentKind | None:
    """The attachment kind of ``definition`` that takes a report's photo, None if none does."""
    specs = [spec for spec in definition.attachments if isinstance(spec, Mapping)]
    kinds = [str(spec.get("kind")) for spec in specs]
    if PHOTO_KIND in kinds:
        return attachment_kind(specs, PHOTO_KIND)
    for name in kinds:
        kind = attachment_kind(specs, name)
        if kind.media_types and all(t.startswith("image/") for t in kind.media_types):
            return kind
    return None


async def receive_photo(session: AsyncSession, upload: Upload, *, tenant: str,
                        definition: ServiceDefinition, settings: CaseSettings) -> Attachment:
    """Read, check and store ``upload``; the unsaved :class:`Attachment` describing it.

    :raises InvalidParameter: (400) the service takes no photo.
    :raises AttachmentTooLarge: (413) larger than the kind allows.
    :raises AttachmentTypeNotAllowed: (415) not an image type the kind accepts, or not what
        the part's ``Content-Type`` declared.
    """
    kind = photo_kind(definition)
    if kind is None:
        raise InvalidParameter("This service takes no photo ('media').")
    received = await receive_upload(upload.chunks,
                                    max_bytes=kind.limit(settings.attachment_max_bytes))
    declared = (upload.content_type or "").split(";")[0].strip().lower()
    media_type = check_media_type(received.content,
                                  declared=None if declared in _UNTYPED else declared,
                                  allowed=kind.media_types)
    attachment_id = uuid.uuid4()
    key = f"{tenant}/open311/{attachment_id}"
    await blob_storage(settings).put(session, key, received.content)
    return Attachment(id=attachment_id, tenant=tenant, kind=kind.kind,
                      filename=sanitize_filename(upload.filename), media_type=media_type,
                      size=received.size, sha256=received.sha256, storage_key=key)
