"""The notifications API: machine clients send (``notification:send``), and the sender or
the tenant's staff read the status."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from city_shared.auth import CurrentPrincipal, Principal, require_scope
from city_shared.dependencies import SessionDep
from city_shared.errors import Forbidden, problem_responses
from city_shared.idempotency import IdempotencyKey
from notification_service.deliveries import service
from notification_service.deliveries.schemas import NotificationCreate, NotificationRead
from notification_service.deliveries.service import MessageConfig, NewMessage, Recipient
from notification_service.dependencies import SettingsDep

__all__ = ["SEND_SCOPE", "router"]

SEND_SCOPE = "notification:send"

router = APIRouter(prefix="/notifications", tags=["notifications"])


async def _sender(
    principal: Annotated[Principal, Depends(require_scope(SEND_SCOPE))],
) -> Principal:
    if principal.kind != "client":
        raise Forbidden("Notifications are sent by services (machine clients).")
    return principal


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Send a notification",
    responses={200: {"model": NotificationRead,
                     "description": "Sent before with this Idempotency-Key: that one."},
               **problem_responses(400, 401, 403, 409, 422)},
)
async def send_notification(
    data: NotificationCreate, response: Response, session: SessionDep,
    principal: Annotated[Principal, Depends(_sender)], settings: SettingsDep,
    key: IdempotencyKey,
) -> NotificationRead:
    """Renders the template's current version now (422 ``unknown_template``,
    ``missing_personalisation``, ``template_render_failed``, ``template_too_expensive``) and
    queues one delivery per channel; the status is at ``Location``."""
    client_id = principal.client_id or principal.sub
    new = NewMessage(
        tenant=principal.tenant, dedup_key=f"api:{client_id}:{key}", origin="api",
        template_key=data.template, channels=list(data.channels),
        recipient=Recipient(account_id=data.recipient.account_id, email=data.recipient.email,
                            phone=data.recipient.phone, locale=data.locale),
        params=data.params, legally_required=data.legally_required,
        department=data.department, client_id=client_id, reference=data.reference,
    )
    message, created = await service.create_message(
        session, new, MessageConfig(default_locale=settings.default_locale),
        strict=True)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    response.headers["Location"] = f"/notifications/{message.id}"
    return NotificationRead.of(message)


@router.get("", summary="List notifications", responses=problem_responses(401, 403, 422))
async def list_notifications(
    session: SessionDep, principal: CurrentPrincipal,
    reference: Annotated[str | None, Query(max_length=255)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[NotificationRead]:
    """Newest first: a client its own, staff their departments', tenant admins all."""
    messages = await service.list_messages(session, principal, reference=reference,
                                           limit=limit)
    return [NotificationRead.of(m) for m in messages]


@router.get("/{notification_id}", summary="The status of a notification",
            responses=problem_responses(401, 403, 404, 422))
async def get_notification(
    notification_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal,
) -> NotificationRead:
    """The client that sent it, staff of its department, or a tenant admin; else 404
    ``notification_not_found``."""
    return NotificationRead.of(await service.get_message(session, principal, notification_id))

