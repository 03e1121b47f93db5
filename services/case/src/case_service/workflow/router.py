"""The workflow API: take an action of the process, claim and assign a case, notes, the audit
trail, and the applicant's attachments to a request for information. Each route parses, runs
one use case and responds; the request's unit of work commits. Changes answer with the case
and its new ``ETag``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Final

from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases import views
from case_service.cases.dependencies import CaseVisibilityDep, SettingsDep
from case_service.cases.models import Case
from case_service.cases.schemas import AttachmentMeta, CaseRead
from case_service.drafts.dependencies import StorageDep
from case_service.settings import CaseSettings
from case_service.workflow import information, staff
from case_service.workflow.guard import etag
from case_service.workflow.schemas import (
    ActionCreate,
    AssignCreate,
    AuditEntryRead,
    AuditList,
    NoteCreate,
    NoteList,
    NoteRead,
)
from case_service.workflow.transitions import take_action
from city_shared.auth import CurrentPrincipal, Principal
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses

__all__ = ["ATTACHMENT_ROUTE", "body_limits", "router"]

router = APIRouter(tags=["workflow"])

#: The applicant's upload route, for the body limit of :func:`body_limits`.
ATTACHMENT_ROUTE: Final = "/cases/{case_id}/attachments"

IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=200,
                                       description='The case\'s ETag, e.g. "3".')]
ActionName = Annotated[str, Path(min_length=1, max_length=64)]
_CHANGE = problem_responses(400, 401, 403, 404, 409, 412, 422, 428)


def body_limits(settings: CaseSettings) -> dict[str, int]:
    """The applicant's upload may be as large as ``attachment_max_bytes``."""
    return {ATTACHMENT_ROUTE: settings.attachment_max_bytes}


async def _answer(session: AsyncSession, principal: Principal, case: Case,
                  settings: CaseSettings, response: Response) -> CaseRead:
    response.headers["ETag"] = etag(case)
    return await views.view(session, principal, case, settings)


@router.post("/cases/{case_id}/actions/{action}", summary="Take an action of the case's process",
             responses=_CHANGE)
async def act(case_id: uuid.UUID, action: ActionName, body: ActionCreate, response: Response,
              session: SessionDep, principal: CurrentPrincipal, v: CaseVisibilityDep,
              settings: SettingsDep, if_match: IfMatch = None) -> CaseRead:
    """``If-Match`` with the case's ETag required (428 ``precondition_required``; 412
    ``case_version_mismatch`` when the case changed: of two clerks deciding at once, one
    wins). ``Idempotency-Key`` accepted. 404 ``case_not_found``, ``action_not_found``; 403
    ``action_not_allowed``; 409 ``invalid_transition``, ``parts_open``,
    ``no_information_requested``; 422 ``public_note_required``, ``unknown_fields``,
    ``unknown_attachment_kind``, ``invalid_deadline``, ``fields_not_requested``,
    ``form_invalid``, ``attachments_missing``. The case's ``actions`` list what the caller may
    take."""
    case = await take_action(session, principal, v, case_id, action, body, if_match=if_match,
                             settings=settings, now=datetime.now(UTC))
    return await _answer(session, principal, case, settings, response)


@router.post("/cases/{case_id}/claim", summary="Take the case (clerk or manager)",
             responses=_CHANGE)
async def claim(case_id: uuid.UUID, response: Response, session: SessionDep,
                principal: CurrentPrincipal, v: CaseVisibilityDep, settings: SettingsDep,
                if_match: IfMatch = None) -> CaseRead:
    """The caller becomes the assignee. ``If-Match`` required. 403 ``action_not_allowed``."""
    case = await staff.claim(session, principal, v, case_id, if_match=if_match,
                             now=datetime.now(UTC))
    return await _answer(session, principal, case, settings, response)


@router.post("/cases/{case_id}/assign", summary="Assign the case (manager)", responses=_CHANGE)
async def assign(case_id: uuid.UUID, body: AssignCreate, response: Response,
                 session: SessionDep, principal: CurrentPrincipal, v: CaseVisibilityDep,
                 settings: SettingsDep, if_match: IfMatch = None) -> CaseRead:
    """``assignee``: a staff account id, or null to release. ``If-Match`` required. 403
    ``action_not_allowed`` for anyone but a manager of the case's department."""
    case = await staff.assign(session, principal, v, case_id, body.assignee,
                              if_match=if_match, now=datetime.now(UTC))
    return await _answer(session, principal, case, settings, response)


def _note(note: object) -> NoteRead:
    return NoteRead.model_validate(note, from_attributes=True)


@router.post("/cases/{case_id}/notes", status_code=status.HTTP_201_CREATED,
             summary="Write a note on the case (staff of its department)",
             responses=problem_responses(400, 401, 403, 404, 422))
async def add_note(case_id: uuid.UUID, body: NoteCreate, session: SessionDep,
                   principal: CurrentPrincipal, v: CaseVisibilityDep) -> NoteRead:
    """``internal`` notes are for staff, ``public`` ones the applicant reads too."""
    return _note(await staff.add_note(session, principal, v, case_id, body,
                                      now=datetime.now(UTC)))


@router.get("/cases/{case_id}/notes", summary="The case's notes",
            responses=problem_responses(401, 403, 404, 422))
async def list_notes(case_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal,
                     v: CaseVisibilityDep) -> NoteList:
    """Staff of the department: all; the applicant: the public ones."""
    return NoteList(items=[_note(n) for n in await staff.notes(session, principal, v,
                                                                 case_id)])


@router.get("/cases/{case_id}/audit", summary="The case's audit trail",
            responses=problem_responses(401, 403, 404, 422))
async def audit_trail(case_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal,
                      v: CaseVisibilityDep) -> AuditList:
    """Staff of the case's department and tenant admins; in order."""
    entries = await staff.audit_trail(session, principal, v, case_id)
    return AuditList(items=[AuditEntryRead.model_validate(e, from_attributes=True)
                            for e in entries])


@router.post(
    ATTACHMENT_ROUTE, status_code=status.HTTP_201_CREATED,
    summary="Add an attachment the open request for information asks for (applicant)",
    responses=problem_responses(401, 403, 404, 409, 413, 415, 422),
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
    }}},
)
async def upload(case_id: uuid.UUID, request: Request, response: Response, session: SessionDep,
                 principal: CurrentPrincipal, v: CaseVisibilityDep, settings: SettingsDep,
                 storage: StorageDep, kind: Annotated[str, Query(min_length=1, max_length=64)],
                 filename: Annotated[str | None, Query(max_length=1000)] = None,
                 ) -> AttachmentMeta:
    """The raw file as the body (as for a draft's attachments), its media type as
    ``Content-Type``. 409 ``no_information_requested``, ``attachment_not_requested``,
    ``too_many_attachments``; 413; 415; 422 ``unknown_attachment_kind``."""
    a = await information.add_attachment(
        session, principal, v, case_id, kind=kind, filename=filename,
        declared=request.headers.get("Content-Type"), chunks=request.stream(),
        settings=settings, storage=storage, now=datetime.now(UTC))
    url = f"{settings.base_url}/cases/{case_id}/attachments/{a.id}"
    response.headers["Location"] = url
    return AttachmentMeta(id=a.id, kind=a.kind, filename=a.filename, media_type=a.media_type,
                          size=a.size, sha256=a.sha256, download_url=url)
