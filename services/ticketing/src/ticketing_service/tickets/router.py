"""HTTP routes of tickets: the public verification keys, reading tickets (list, one, QR images,
the ticket page), check-in at the gate and venue occupancy. Each route parses, makes one
service call and responds; the request's unit of work commits (ADR 0011)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from city_shared.auth import CurrentPrincipal
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from city_shared.idempotency import accept_idempotency_key
from city_shared.pagination import CursorQuery
from city_shared.slugs import Slug
from ticketing_service.dependencies import OrderVisibilityDep, SettingsDep
from ticketing_service.tickets import checkin, qr, service
from ticketing_service.tickets.schemas import (
    CheckInCreate,
    CheckInRead,
    Jwks,
    OccupancyRead,
    TicketList,
    TicketPage,
    TicketRead,
)

__all__ = ["router"]

router = APIRouter()
_tickets = APIRouter(prefix="/tickets", tags=["tickets"])
_gate = APIRouter(tags=["check-in"])

_KEYS_CACHE: str = "public, max-age=300"
# A QR code is a bearer credential: shared caches must not keep it.
_QR_CACHE: str = "private, max-age=300"


@_tickets.get("/keys", summary="The public keys that verify ticket QR codes (JWKS)")
async def ticket_keys(response: Response, settings: SettingsDep) -> Jwks:
    """No token needed. A gate caches this and verifies ticket payloads offline (compact JWS,
    ``EdDSA`` with Ed25519, ``kid`` = RFC 7638 thumbprint). Every active key is listed, so
    tickets signed before a key rotation still verify."""
    response.headers["Cache-Control"] = _KEYS_CACHE
    return Jwks.model_validate(service.signer(settings).jwks())


@_tickets.get("", summary="List tickets, newest first", responses=problem_responses(401, 403, 422))
async def list_tickets(
    session: SessionDep,
    v: OrderVisibilityDep,
    settings: SettingsDep,
    status: Annotated[Literal["valid", "voided"] | None, Query()] = None,
    department: Annotated[Slug | None, Query()] = None,
    order_id: Annotated[uuid.UUID | None, Query()] = None,
    cursor: CursorQuery = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> TicketList:
    """Citizens see their own tickets; staff the tickets admitting to one of their
    departments; tenant admins and clients with ``ticketing:read`` all of the tenant.
    422 ``invalid_cursor``."""
    return await service.list_tickets(session, v, settings, status=status,
                                      department=department, order_id=order_id,
                                      cursor=cursor, limit=limit)


@_tickets.get("/{ticket_id}", summary="Get a ticket",
              responses=problem_responses(401, 403, 404, 422))
async def get_ticket(ticket_id: uuid.UUID, session: SessionDep, v: OrderVisibilityDep,
                     settings: SettingsDep) -> TicketRead:
    """With its entitlements and the visits left. 404 ``ticket_not_found`` also for tickets
    the caller may not see."""
    return await service.read_ticket(session, v, ticket_id, settings)


_PNG: dict[int | str, dict[str, Any]] = {
    200: {"content": {qr.PNG_MEDIA_TYPE: {}}, "description": "The QR code as PNG."}}
_SVG: dict[int | str, dict[str, Any]] = {
    200: {"content": {qr.SVG_MEDIA_TYPE: {}}, "description": "The QR code as SVG."}}


@_tickets.get("/{ticket_id}/qr.png", summary="The ticket's QR code (PNG)",
              response_class=Response,
              responses={**_PNG, **problem_responses(401, 403, 404, 422)})
async def ticket_qr_png(ticket_id: uuid.UUID, session: SessionDep, v: OrderVisibilityDep,
                        settings: SettingsDep) -> Response:
    """The signed payload as a QR code; who may see the ticket may see it."""
    payload = await service.ticket_payload(session, v, ticket_id, settings)
    return Response(qr.png(payload), media_type=qr.PNG_MEDIA_TYPE,
                    headers={"Cache-Control": _QR_CACHE})


@_tickets.get("/{ticket_id}/qr.svg", summary="The ticket's QR code (SVG)",
              response_class=Response,
              responses={**_SVG, **problem_responses(401, 403, 404, 422)})
async def ticket_qr_svg(ticket_id: uuid.UUID, session: SessionDep, v: OrderVisibilityDep,
                        settings: SettingsDep) -> Response:
    """The signed payload as a QR code; who may see the ticket may see it."""
    payload = await service.ticket_payload(session, v, ticket_id, settings)
    return Response(qr.svg(payload), media_type=qr.SVG_MEDIA_TYPE,
                    headers={"Cache-Control": _QR_CACHE})


@_tickets.get("/{ticket_id}/page", summary="Everything a ticket page or PDF shows",
              responses=problem_responses(401, 403, 404, 422))
async def ticket_page(ticket_id: uuid.UUID, response: Response, session: SessionDep,
                      v: OrderVisibilityDep, settings: SettingsDep) -> TicketPage:
    """Offering, venue, slot, ticket type, price, code, validity and the QR code as an SVG
    data URI."""
    response.headers["Cache-Control"] = "private, no-cache"
    return await service.ticket_page(session, v, ticket_id, settings)


@_gate.post(
    "/checkins",
    summary="Check a ticket in (or out) at a gate",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[Depends(accept_idempotency_key)],
)
async def check_in(data: CheckInCreate, session: SessionDep, principal: CurrentPrincipal,
                   settings: SettingsDep) -> CheckInRead:
    """Gate staff (``gatekeeper`` or ``manager``) of ``department``. Always 200 with an
    ``outcome`` once the request is valid: ``admitted``, ``already_used``,
    ``wrong_department``, ``not_valid_now``, ``voided``, ``unknown``, ``invalid_signature``;
    for exits ``exited`` or ``not_admitted`` (the ticket is not inside). Only ``admitted`` and
    ``exited`` mean "let through".

    The same ``scan_id`` again returns the first answer unchanged (same ``scanned_at``);
    with a different body 422 ``scan_id_reused``. 404 ``venue_not_found`` when ``venue_id``
    is not a venue of ``department``."""
    return await checkin.check_in(session, principal, data, settings=settings,
                                  now=datetime.now(UTC))


@_gate.get("/venues/{venue_id}/occupancy", summary="People inside a venue now",
           responses=problem_responses(401, 403, 404, 422))
async def venue_occupancy(venue_id: uuid.UUID, response: Response, session: SessionDep,
                          principal: CurrentPrincipal) -> OccupancyRead:
    """Staff of the venue's department, tenant admins and clients with ``ticketing:read``.
    ``present`` counts admitted entries minus exits, never below zero."""
    response.headers["Cache-Control"] = "no-store"
    return await checkin.occupancy(session, principal, venue_id)


router.include_router(_tickets)
router.include_router(_gate)
