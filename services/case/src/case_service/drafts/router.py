"""The drafts API: start a prefilled draft, list and read one's own, change it by JSON merge
patch, delete it. Each route parses, runs one use case and responds; the request's unit of
work commits (ADR 0011). Only the owner ever sees a draft (:func:`case_service.access.draft_owner`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from case_service.drafts import service
from case_service.drafts.dependencies import (
    HttpDep,
    LocaleDep,
    SettingsDep,
    StorageDep,
)
from case_service.drafts.models import Draft
from case_service.drafts.schemas import DraftCreate, DraftList, DraftRead, DraftUpdate
from case_service.drafts.views import draft_view, drafts_view
from case_service.forms import VerifiedAttribute
from case_service.identity_client import verified_attributes
from city_shared.auth import CurrentPrincipal
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from city_shared.pagination import CursorQuery

__all__ = ["router"]

router = APIRouter(prefix="/drafts", tags=["drafts"])

IfMatch = Annotated[str | None, Header(max_length=100, description='The draft\'s version '
                                       'as read (ETag, e.g. `"3"`); 412 when it changed.')]


def _etag(response: Response, draft: Draft) -> None:
    response.headers["ETag"] = f'"{draft.version}"'


@router.post("", status_code=status.HTTP_201_CREATED,
             summary="Start an application (prefilled from my verified identity)",
             responses=problem_responses(401, 403, 404, 422))
async def create_draft(body: DraftCreate, response: Response, session: SessionDep,
                       principal: CurrentPrincipal, settings: SettingsDep, locale: LocaleDep,
                       http: HttpDep, token: Annotated[str | None, Header(
                           alias="Authorization", include_in_schema=False)] = None) -> DraftRead:
    """Citizens apply for themselves; city systems with ``case:write`` for the citizen in
    ``account_id``; staff 403. The draft keeps the service's newest definition version for its
    whole life. A citizen's verified attributes (from identity, with the citizen's own token)
    fill the fields the form marks ``x-prefill`` and appear in ``verified`` with their level;
    ``prefill`` says ``unavailable`` when identity did not answer in time (the draft starts
    empty). ``data`` given here wins over prefilled values. Labels and ``errors`` follow
    ``Accept-Language`` (de, en). 404 ``service_not_found`` (also another tenant or not
    offered); 422 ``form_invalid`` (entries of ``data`` with pointers; nothing stored),
    ``account_id_not_allowed``."""
    forwarded = bearer_token_of(token)

    async def attributes() -> list[VerifiedAttribute] | None:
        return await verified_attributes(settings, forwarded or "", http=http)

    now = datetime.now(UTC)
    started = await service.start_draft(
        session, body, principal, settings=settings, locale=locale, now=now,
        attributes=attributes if principal.kind == "citizen" and forwarded else None)
    draft = started.draft
    response.headers["Location"] = f"{settings.base_url}/drafts/{draft.id}"
    _etag(response, draft)
    return await draft_view(session, draft, locale=locale, now=now, prefill=started.prefill,
                            effective=started.effective, errors=started.errors,
                            attachments=())


def bearer_token_of(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header value."""
    scheme, _, token = (header or "").strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


@router.get("", summary="My drafts, newest first", responses=problem_responses(401, 403, 422))
async def list_drafts(session: SessionDep, principal: CurrentPrincipal, locale: LocaleDep,
                      cursor: CursorQuery = None,
                      limit: Annotated[int, Query(ge=1, le=100)] = 20) -> DraftList:
    """The caller's live drafts (expired ones are gone). 422 ``invalid_cursor``."""
    now = datetime.now(UTC)
    page, next_cursor = await service.list_drafts(session, principal, cursor=cursor,
                                                  limit=limit, now=now)
    return DraftList(items=await drafts_view(session, page, locale=locale, now=now),
                     next_cursor=next_cursor)


@router.get("/{draft_id}", summary="One of my drafts", responses=problem_responses(401, 403, 404))
async def get_draft(draft_id: uuid.UUID, response: Response, session: SessionDep,
                    principal: CurrentPrincipal, locale: LocaleDep) -> DraftRead:
    """The draft with its form, partial ``errors`` and fee preview; ``ETag`` is its version.
    404 ``draft_not_found`` (also someone else's, or expired)."""
    now = datetime.now(UTC)
    draft = await service.open_draft(session, principal, draft_id, now=now)
    _etag(response, draft)
    return await draft_view(session, draft, locale=locale, now=now)


@router.patch(
    "/{draft_id}", summary="Change my draft (JSON merge patch of its data)",
    responses=problem_responses(401, 403, 404, 409, 412, 422),
    openapi_extra={"requestBody": {"content": {
        "application/merge-patch+json": {"schema": {"$ref": "#/components/schemas/DraftUpdate"}},
    }}},
)
async def patch_draft(draft_id: uuid.UUID, body: DraftUpdate, response: Response,
                      session: SessionDep, principal: CurrentPrincipal, settings: SettingsDep,
                      locale: LocaleDep, if_match: IfMatch = None) -> DraftRead:
    """``application/merge-patch+json`` (or ``application/json``): ``{"data": {...}}`` merged
    into the saved data by RFC 7396 (``null`` removes an entry); the draft as read may be sent
    back whole (only ``data`` counts). Entries the patch sets are validated: any error there
    (type, pattern, format, NUL, nesting) is a 422 ``form_invalid`` with a JSON pointer per
    error in the caller's language, and nothing is saved; missing required entries are no
    error in a draft. Changing a prefilled value drops its verified mark. Each change extends
    ``expires_at``. ``If-Match`` (the ETag) gives 412 ``draft_version_mismatch`` when the draft
    changed meanwhile. 409 ``draft_submitted``; 404 ``draft_not_found``."""
    now = datetime.now(UTC)
    draft = await service.update_draft(session, principal, draft_id, body.data,
                                       if_match=if_match, settings=settings, locale=locale,
                                       now=now)
    _etag(response, draft)
    return await draft_view(session, draft, locale=locale, now=now)


@router.delete("/{draft_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Delete my draft and its attachments",
               responses=problem_responses(401, 403, 404, 409, 412))
async def delete_draft(draft_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal,
                       storage: StorageDep, if_match: IfMatch = None) -> Response:
    """Gone with its attachments. 409 ``draft_submitted`` (it is a case now); 404; 412."""
    await service.delete_draft(session, principal, draft_id, if_match=if_match,
                               storage=storage, now=datetime.now(UTC))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
