"""The attachments API of a draft: upload (the raw file as the request body, streamed), download
and delete. Only the draft's owner reaches them; the request's unit of work commits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Final
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response, status

from case_service.attachments import service
from case_service.attachments.schemas import AttachmentRead
from case_service.drafts.dependencies import SettingsDep, StorageDep
from case_service.settings import CaseSettings
from city_shared.auth import CurrentPrincipal
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses

__all__ = ["UPLOAD_ROUTE", "body_limits", "router"]

#: The upload's route template, for the body limit of :func:`body_limits`.
UPLOAD_ROUTE: Final = "/drafts/{draft_id}/attachments"

router = APIRouter(prefix=UPLOAD_ROUTE, tags=["drafts"])


def body_limits(settings: CaseSettings) -> dict[str, int]:
    """The shared body limit's per-route entry of uploads (``create_service_app(...,
    body_limits=...)``): the service-wide attachment limit instead of the 1 MiB default."""
    return {UPLOAD_ROUTE: settings.attachment_max_bytes}


@router.post(
    "", status_code=status.HTTP_201_CREATED, summary="Attach a file to my draft",
    responses=problem_responses(401, 403, 404, 409, 413, 415, 422),
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
    }}},
)
async def upload_attachment(
    draft_id: uuid.UUID, request: Request, response: Response, session: SessionDep,
    principal: CurrentPrincipal, settings: SettingsDep, storage: StorageDep,
    kind: Annotated[str, Query(min_length=1, max_length=64)],
    filename: Annotated[str | None, Query(max_length=1000)] = None,
) -> AttachmentRead:
    """The file is the raw body with its media type as ``Content-Type``. The type is detected
    from the content and must be one the service allows for ``kind`` and the declared one:
    else 415 ``attachment_type_not_allowed``. Reading stops as soon as the kind's size limit is
    passed: 413 ``attachment_too_large``. SHA-256 and size are recorded; the file name loses
    path parts and control characters. 422 ``unknown_attachment_kind``; 409
    ``too_many_attachments``, ``draft_submitted``; 404 ``draft_not_found``. Nothing is stored
    when refused."""
    attachment = await service.add_attachment(
        session, principal, draft_id, kind=kind, filename=filename,
        declared=request.headers.get("Content-Type"), chunks=request.stream(),
        settings=settings, storage=storage, now=datetime.now(UTC))
    response.headers["Location"] = (
        f"{settings.base_url}/drafts/{draft_id}/attachments/{attachment.id}")
    return AttachmentRead.of(attachment)


@router.get("/{attachment_id}", summary="Download an attachment of my draft",
            response_class=Response, responses=problem_responses(401, 403, 404))
async def download_attachment(draft_id: uuid.UUID, attachment_id: uuid.UUID,
                              session: SessionDep, principal: CurrentPrincipal,
                              storage: StorageDep) -> Response:
    """The content as uploaded, with the detected media type, as a download (never rendered
    inline). 404 ``attachment_not_found``, ``draft_not_found``."""
    attachment, content = await service.attachment_content(
        session, principal, draft_id, attachment_id, storage=storage, now=datetime.now(UTC))
    return Response(content, media_type=attachment.media_type, headers={
        "Content-Disposition": content_disposition(attachment.filename),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    })


@router.delete("/{attachment_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Remove an attachment from my draft",
               responses=problem_responses(401, 403, 404, 409))
async def delete_attachment(draft_id: uuid.UUID, attachment_id: uuid.UUID,
                            session: SessionDep, principal: CurrentPrincipal,
                            settings: SettingsDep, storage: StorageDep) -> Response:
    """Gone with its content. 409 ``draft_submitted``; 404."""
    await service.remove_attachment(session, principal, draft_id, attachment_id,
                                    settings=settings, storage=storage, now=datetime.now(UTC))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact name per RFC 6266/8187."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
