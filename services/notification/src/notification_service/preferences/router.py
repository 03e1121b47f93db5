"""The preferences API: a citizen reads and changes their own channel choices."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from city_shared.auth import Principal, require_kind
from city_shared.dependencies import SessionDep
from city_shared.errors import Forbidden, problem_responses
from city_shared.idempotency import accept_idempotency_key
from notification_service.preferences import service
from notification_service.preferences.schemas import PreferencesRead, PreferencesUpdate

__all__ = ["CitizenDep", "citizen_account", "router"]

router = APIRouter(prefix="/preferences", tags=["preferences"])

CitizenDep = Annotated[Principal, Depends(require_kind("citizen"))]


def citizen_account(principal: Principal) -> uuid.UUID:
    """The citizen's account id. :raises Forbidden: a subject that is no account id."""
    try:
        return uuid.UUID(principal.sub)
    except ValueError:
        raise Forbidden("This token does not name a citizen account.") from None


@router.get("", summary="My contact preferences", responses=problem_responses(401, 403))
async def get_preferences(session: SessionDep, principal: CitizenDep) -> PreferencesRead:
    """Citizens only: their own channels (all on until changed)."""
    return await service.get_preferences(session, principal.tenant, citizen_account(principal))


@router.put("", summary="Change my contact preferences",
            responses=problem_responses(401, 403, 422),
            dependencies=[Depends(accept_idempotency_key)])
async def put_preferences(
    data: PreferencesUpdate, session: SessionDep, principal: CitizenDep
) -> PreferencesRead:
    """Opt out of (or back into) e-mail, SMS or the inbox; legally required messages are sent
    anyway."""
    result = await service.set_preferences(session, principal.tenant,
                                           citizen_account(principal), data)
    return result
