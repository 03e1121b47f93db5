"""The inbox API (Postfach): a citizen lists their own messages, counts the unread ones and
marks one read."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from city_shared.idempotency import accept_idempotency_key
from notification_service.inbox import service
from notification_service.inbox.schemas import InboxList, InboxMessageRead, UnreadCount
from notification_service.preferences.router import CitizenDep, citizen_account

__all__ = ["router"]

router = APIRouter(prefix="/inbox", tags=["inbox"])


@router.get("", summary="My inbox", responses=problem_responses(401, 403, 422))
async def list_inbox(
    session: SessionDep, principal: CitizenDep,
    unread: Annotated[bool, Query(description="Only unread messages.")] = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> InboxList:
    """Citizens only, their own messages, newest first, with the unread count."""
    account = citizen_account(principal)
    items = await service.list_messages(session, principal.tenant, account, unread_only=unread,
                                        limit=limit, offset=offset)
    count = await service.unread_count(session, principal.tenant, account)
    return InboxList(items=[InboxMessageRead.of(m) for m in items], unread_count=count)


@router.get("/unread-count", summary="How many of my messages are unread",
            responses=problem_responses(401, 403))
async def unread_count(session: SessionDep, principal: CitizenDep) -> UnreadCount:
    return UnreadCount(unread_count=await service.unread_count(
        session, principal.tenant, citizen_account(principal)))


@router.post("/{message_id}/read", summary="Mark a message read",
             responses=problem_responses(401, 403, 404, 422),
             dependencies=[Depends(accept_idempotency_key)])
async def mark_read(
    message_id: uuid.UUID, session: SessionDep, principal: CitizenDep
) -> InboxMessageRead:
    """The read receipt (``read_at``, the first read's time). 404 for another's message."""
    message = await service.mark_read(session, principal.tenant, citizen_account(principal),
                                      message_id)
    return InboxMessageRead.of(message)
