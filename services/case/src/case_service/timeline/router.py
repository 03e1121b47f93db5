"""The timeline API: ``GET /cases/{id}/timeline``, the citizen's view of what happened on a case
and what they must do now."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from case_service.cases.dependencies import CaseVisibilityDep, SettingsDep
from case_service.timeline.schemas import Locale, Timeline
from case_service.timeline.service import read_timeline
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses

__all__ = ["router"]

router = APIRouter(tags=["timeline"])


@router.get("/cases/{case_id}/timeline",
            summary="The case's timeline in the citizen's language, and what they must do now",
            responses=problem_responses(401, 403, 404, 422))
async def get_timeline(case_id: uuid.UUID, session: SessionDep, v: CaseVisibilityDep,
                       settings: SettingsDep, locale: Locale | None = None) -> Timeline:
    """Whoever may read the case (its applicant, the staff of its department, tenant admins).
    Status changes labelled from the case's process, public notes, requests for information,
    documents and the fee's payments, oldest first; ``expected``: ``pay``, ``answer`` or
    ``none``. ``locale`` (``de`` or ``en``) defaults to the case's language. Never staff's
    internal notes, the assignee, parts or form data. 404 ``case_not_found`` also for a case
    the caller may not see; 422 for another ``locale``."""
    return await read_timeline(session, v, case_id, locale=locale, settings=settings)
