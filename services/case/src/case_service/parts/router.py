"""The parts API (the shared folder): the parts asked of the caller's departments, one part
with what its department needs of the case, the case's attachments through the part, and the
answer. Each route parses, runs one use case and responds; the request's unit of work
commits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response

from case_service.cases.dependencies import SettingsDep
from case_service.parts import views
from case_service.parts.answer import answer_part
from case_service.parts.schemas import PartAnswerCreate, PartDetail, PartList
from city_shared.auth import CurrentPrincipal
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from city_shared.pagination import CursorQuery

__all__ = ["router"]

router = APIRouter(tags=["parts"])

PartStatus = Literal["waiting", "open", "answered", "cancelled"]
Department = Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
                                         description="One of your departments.")]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=1024,
                                       description="The `ETag` of the part as read.")]


def _etag(version: int) -> str:
    return f'"{version}"'


@router.get("/parts", summary="The parts asked of your departments, most urgent first",
            responses=problem_responses(401, 403, 422))
async def list_parts(
    session: SessionDep, principal: CurrentPrincipal, department: Department = None,
    status: Annotated[PartStatus | None, Query()] = None, cursor: CursorQuery = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PartList:
    """Staff see the parts asked of departments where they hold a role (tenant admins all of
    the tenant), ordered by ``due_at`` (waiting parts without one last), then id. 403 for a
    ``department`` that is not yours, citizens and machine clients; 422 ``invalid_cursor``."""
    return await views.list_parts(session, principal, department=department, status=status,
                                  cursor=cursor, limit=limit)


@router.get("/parts/{part_id}", summary="One part with the case summary its department needs",
            responses=problem_responses(401, 403, 404, 422))
async def get_part(part_id: uuid.UUID, response: Response, session: SessionDep,
                   principal: CurrentPrincipal, settings: SettingsDep) -> PartDetail:
    """The part, its ``ETag`` (for ``If-Match`` on the answer) and the case's number,
    service, status, submission date, form data and attachments (downloaded through the
    part). No notes, history or documents of the case. 404 ``part_not_found`` also for
    another department's part."""
    part = await views.read_part(session, principal, part_id, settings)
    response.headers["ETag"] = _etag(part.version)
    return part


@router.get("/parts/{part_id}/attachments/{attachment_id}",
            summary="Download an attachment of the part's case", response_class=Response,
            responses=problem_responses(401, 403, 404, 422))
async def download_attachment(part_id: uuid.UUID, attachment_id: uuid.UUID,
                              session: SessionDep, principal: CurrentPrincipal,
                              settings: SettingsDep) -> Response:
    """Whoever may read the part. The content with its detected media type."""
    meta, content = await views.attachment_content(session, principal, part_id,
                                                   attachment_id, settings)
    return Response(content, media_type=meta.media_type, headers={
        "Content-Disposition": "attachment", "X-Content-Type-Options": "nosniff",
        "Digest": f"sha-256={meta.sha256}"})


@router.post("/parts/{part_id}/answer", summary="Answer a part (clerk or manager of the "
             "department asked)", responses=problem_responses(401, 403, 404, 409, 412, 422,
                                                               428))
async def answer(part_id: uuid.UUID, body: PartAnswerCreate, response: Response,
                 session: SessionDep, principal: CurrentPrincipal, settings: SettingsDep,
                 if_match: IfMatch = None) -> PartDetail:
    """``If-Match`` with the part's ``ETag`` is required: 428 ``precondition_required``
    without it, 412 ``part_version_mismatch`` when the part changed. 409 ``part_not_open``
    (``part_status``) for a waiting, answered or cancelled part. In a sequence the next part
    opens; after the last answer the case moves on as its process says."""
    part = await answer_part(session, principal, part_id, body, if_match=if_match,
                             now=datetime.now(UTC), settings=settings)
    read = await views.detail(session, part, settings)
    response.headers["ETag"] = _etag(read.version)
    return read
