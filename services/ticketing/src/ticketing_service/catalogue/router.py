"""HTTP routes of the catalogue: staff manage venues, offerings, ticket types, quotas, opening
rules and slots; anyone reads the public offerings and availability. Each route parses, makes
one service call and responds; the request's unit of work commits (ADR 0011).
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Header, Query, Response, status
from fastapi.responses import JSONResponse

from city_shared.auth import CurrentPrincipal
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from city_shared.idempotency import accept_idempotency_key
from city_shared.slugs import Slug, SlugPath
from ticketing_service.catalogue import availability, service, slots
from ticketing_service.catalogue.public_schemas import (
    AvailabilityRead,
    PublicOfferingList,
)
from ticketing_service.catalogue.schemas import (
    Day,
    OfferingCreate,
    OfferingList,
    OfferingRead,
    OfferingStatusField,
    OfferingUpdate,
    QuotaCreate,
    QuotaRead,
    QuotaUpdate,
    TicketTypeCreate,
    TicketTypeRead,
    TicketTypeUpdate,
    VenueCreate,
    VenueList,
    VenueRead,
    VenueUpdate,
)
from ticketing_service.catalogue.slot_schemas import (
    GenerateResult,
    GenerateSlots,
    RuleCreate,
    RuleList,
    RuleRead,
    SlotCreate,
    SlotList,
    SlotRead,
    SlotUpdate,
)
from ticketing_service.dependencies import SettingsDep

__all__ = ["router"]

router = APIRouter()
staff = APIRouter(tags=["catalogue"], responses=problem_responses(401, 403, 422))
public = APIRouter(prefix="/public/{tenant}", tags=["public"])
_unsafe = [Depends(accept_idempotency_key)]

_STRONG_TAG: Final = re.compile(r'\s*"(\d{1,9})"\s*')
_ANY_TAG: Final = re.compile(r'\s*(?:W/)?"([\x21\x23-\x7e]*)"\s*')
PUBLIC_CACHE: Final = "public, max-age=5"
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=1024,
                                       description="The `ETag` of the offering as read.")]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match", max_length=4096)]
FromDay = Annotated[Day, Query(alias="from", description="Local date of the venue, inclusive.")]
ToDay = Annotated[Day, Query(description="Local date of the venue, inclusive.")]


def offering_etag(version: int) -> str:
    return f'"{version}"'


def expected_versions(if_match: str | None) -> frozenset[int] | None:
    """The versions ``If-Match`` allows (None: any). A weak or malformed tag allows none, so
    the change fails safe with 412."""
    if if_match is None or if_match.strip() == "*":
        return None
    versions: set[int] = set()
    for part in if_match.split(","):
        found = _STRONG_TAG.fullmatch(part)
        if found is not None:
            versions.add(int(found.group(1)))
    return frozenset(versions)


def _none_match(header: str | None, etag: str) -> bool:
    """True if ``If-None-Match`` matches ``etag`` (weak comparison, RFC 9110 13.1.2)."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any((found := _ANY_TAG.fullmatch(part)) is not None
               and f'"{found.group(1)}"' == wanted for part in header.split(","))


def _offering_response(response: Response, offering: OfferingRead) -> OfferingRead:
    response.headers["ETag"] = offering_etag(offering.version)
    return offering


# -- venues -----------------------------------------------------------------------------------


@staff.post("/venues", status_code=status.HTTP_201_CREATED, summary="Create a venue",
            responses=problem_responses(409), dependencies=_unsafe)
async def create_venue(data: VenueCreate, response: Response, session: SessionDep,
                       principal: CurrentPrincipal, settings: SettingsDep) -> VenueRead:
    """Managers of ``department``. 409 ``name_taken``; a bad ``timezone`` is a 422."""
    venue = await service.create_venue(session, principal, data)
    response.headers["Location"] = f"{settings.base_url}/venues/{venue.id}"
    return VenueRead.of(venue)


@staff.get("/venues", summary="List venues")
async def list_venues(session: SessionDep, principal: CurrentPrincipal,
                      department: Annotated[Slug | None, Query()] = None) -> VenueList:
    """The venues of the caller's departments (tenant admins and clients: all)."""
    venues = await service.list_venues(session, principal, department)
    return VenueList(items=[VenueRead.of(v) for v in venues])


@staff.get("/venues/{venue_id}", summary="Get a venue", responses=problem_responses(404))
async def get_venue(venue_id: uuid.UUID, session: SessionDep,
                    principal: CurrentPrincipal) -> VenueRead:
    """404 ``venue_not_found``; 403 for another department's venue."""
    return VenueRead.of(await service.get_venue(session, principal, venue_id))


@staff.patch("/venues/{venue_id}", summary="Change a venue",
             responses=problem_responses(404, 409), dependencies=_unsafe)
async def change_venue(venue_id: uuid.UUID, data: VenueUpdate, session: SessionDep,
                       principal: CurrentPrincipal) -> VenueRead:
    """Managers of the venue's department."""
    venue = await service.change_venue(session, principal, venue_id, data)
    return VenueRead.of(venue)


# -- offerings --------------------------------------------------------------------------------


@staff.post("/offerings", status_code=status.HTTP_201_CREATED, summary="Create an offering",
            responses=problem_responses(409), dependencies=_unsafe)
async def create_offering(data: OfferingCreate, response: Response, session: SessionDep,
                          principal: CurrentPrincipal, settings: SettingsDep) -> OfferingRead:
    """Managers of ``department``; the venue must be that department's (422
    ``invalid_venue``). Created as ``draft``."""
    offering = await service.create_offering(session, principal, data)
    response.headers["Location"] = f"{settings.base_url}/offerings/{offering.id}"
    return _offering_response(response, OfferingRead.of(offering))


@staff.get("/offerings", summary="List offerings")
async def list_offerings(
    session: SessionDep, principal: CurrentPrincipal,
    department: Annotated[Slug | None, Query()] = None,
    status_: Annotated[OfferingStatusField | None, Query(alias="status")] = None,
) -> OfferingList:
    """The offerings of the caller's departments (tenant admins and clients: all)."""
    offerings = await service.list_offerings(session, principal, department=department,
                                             status=status_)
    return OfferingList(items=[OfferingRead.of(o) for o in offerings])


@staff.get("/offerings/{offering_id}", summary="Get an offering",
           responses=problem_responses(404))
async def get_offering(offering_id: uuid.UUID, response: Response, session: SessionDep,
                       principal: CurrentPrincipal) -> OfferingRead:
    """The ``ETag`` is the offering's version, for ``If-Match`` on changes."""
    offering = await service.get_offering(session, principal, offering_id)
    return _offering_response(response, OfferingRead.of(offering))


@staff.patch("/offerings/{offering_id}", summary="Change an offering or its status",
             responses=problem_responses(404, 409, 412), dependencies=_unsafe)
async def change_offering(offering_id: uuid.UUID, data: OfferingUpdate, response: Response,
                          session: SessionDep, principal: CurrentPrincipal,
                          if_match: IfMatch = None) -> OfferingRead:
    """412 ``precondition_failed`` when ``If-Match`` is not the current ``ETag``; 409
    ``invalid_transition`` / ``offering_not_publishable``."""
    offering = await service.change_offering(session, principal, offering_id, data,
                                             expected_versions=expected_versions(if_match))
    return _offering_response(response, OfferingRead.of(offering))


# -- ticket types and quotas ------------------------------------------------------------------


@staff.post("/offerings/{offering_id}/ticket-types", status_code=status.HTTP_201_CREATED,
            summary="Add a ticket type", responses=problem_responses(404, 409),
            dependencies=_unsafe)
async def add_ticket_type(offering_id: uuid.UUID, data: TicketTypeCreate, session: SessionDep,
                          principal: CurrentPrincipal) -> TicketTypeRead:
    """409 ``name_taken`` for a used code; 422 ``combo_shares_mismatch``, ``unknown_quota``,
    ``invalid_component``, ``not_applicable``; 403 ``combo_component_consent_required`` for a
    component of another department the caller does not also manage."""
    ticket_type = await service.add_ticket_type(session, principal, offering_id, data)
    return TicketTypeRead.of(ticket_type)


@staff.patch("/ticket-types/{ticket_type_id}", summary="Change a ticket type",
             responses=problem_responses(404, 409), dependencies=_unsafe)
async def change_ticket_type(ticket_type_id: uuid.UUID, data: TicketTypeUpdate,
                             session: SessionDep, principal: CurrentPrincipal) -> TicketTypeRead:
    """As when adding; a component of another department may stay exactly as it is, any
    change of it needs a manager of that department too (403
    ``combo_component_consent_required``)."""
    ticket_type = await service.change_ticket_type(session, principal, ticket_type_id, data)
    return TicketTypeRead.of(ticket_type)


@staff.post("/offerings/{offering_id}/quotas", status_code=status.HTTP_201_CREATED,
            summary="Add a quota", responses=problem_responses(404, 409), dependencies=_unsafe)
async def add_quota(offering_id: uuid.UUID, data: QuotaCreate, session: SessionDep,
                    principal: CurrentPrincipal) -> QuotaRead:
    quota = await service.add_quota(session, principal, offering_id, data)
    return QuotaRead.of(quota)


@staff.patch("/quotas/{quota_id}", summary="Change a quota",
             responses=problem_responses(404, 409), dependencies=_unsafe)
async def change_quota(quota_id: uuid.UUID, data: QuotaUpdate, session: SessionDep,
                       principal: CurrentPrincipal) -> QuotaRead:
    """409 ``capacity_below_reserved`` when a slot already uses more of the quota."""
    quota = await service.change_quota(session, principal, quota_id, data)
    return QuotaRead.of(quota)


# -- opening rules and slots ------------------------------------------------------------------


@staff.post("/offerings/{offering_id}/rules", status_code=status.HTTP_201_CREATED,
            summary="Add an opening rule", responses=problem_responses(404),
            dependencies=_unsafe)
async def add_rule(offering_id: uuid.UUID, data: RuleCreate, session: SessionDep,
                   principal: CurrentPrincipal) -> RuleRead:
    rule = await slots.add_rule(session, principal, offering_id, data)
    return RuleRead.of(rule)


@staff.get("/offerings/{offering_id}/rules", summary="List opening rules",
           responses=problem_responses(404))
async def list_rules(offering_id: uuid.UUID, session: SessionDep,
                     principal: CurrentPrincipal) -> RuleList:
    rules = await slots.list_rules(session, principal, offering_id)
    return RuleList(items=[RuleRead.of(r) for r in rules])


@staff.delete("/rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT,
              summary="Delete an opening rule (its slots stay)",
              responses=problem_responses(404), dependencies=_unsafe)
async def delete_rule(rule_id: uuid.UUID, session: SessionDep,
                      principal: CurrentPrincipal) -> Response:
    await slots.delete_rule(session, principal, rule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@staff.post("/offerings/{offering_id}/slots/generate", summary="Generate slots from the rules",
            responses=problem_responses(404), dependencies=_unsafe)
async def generate_slots(offering_id: uuid.UUID, data: GenerateSlots, session: SessionDep,
                         principal: CurrentPrincipal, settings: SettingsDep) -> GenerateResult:
    """Local dates of the venue, both inclusive, at most ``slot_generation_max_days`` (422
    ``range_too_long``). Idempotent: a second call creates nothing."""
    result = await slots.generate_slots(session, principal, offering_id, data.from_, data.to,
                                        max_days=settings.slot_generation_max_days)
    return result


@staff.get("/offerings/{offering_id}/slots", summary="List slots with their counters",
           responses=problem_responses(404))
async def list_slots(offering_id: uuid.UUID, from_: FromDay, to: ToDay, session: SessionDep,
                     principal: CurrentPrincipal, settings: SettingsDep) -> SlotList:
    """Every slot (also closed and cancelled) starting on those local dates, with capacity,
    held and sold places."""
    found = await slots.list_slots(session, principal, offering_id, from_, to,
                                   max_days=settings.slot_generation_max_days)
    return SlotList(items=[SlotRead.of(s) for s in found])


@staff.post("/offerings/{offering_id}/slots", status_code=status.HTTP_201_CREATED,
            summary="Add one slot by hand", responses=problem_responses(404, 409),
            dependencies=_unsafe)
async def add_slot(offering_id: uuid.UUID, data: SlotCreate, session: SessionDep,
                   principal: CurrentPrincipal) -> SlotRead:
    """409 ``slot_exists`` when the offering has a slot starting then."""
    slot = await slots.add_slot(session, principal, offering_id, data)
    return SlotRead.of(slot)


@staff.patch("/slots/{slot_id}", summary="Override a slot's capacity or status",
             responses=problem_responses(404, 409), dependencies=_unsafe)
async def change_slot(slot_id: uuid.UUID, data: SlotUpdate, session: SessionDep,
                      principal: CurrentPrincipal) -> SlotRead:
    """409 ``capacity_below_reserved``, ``slot_has_reservations``, ``invalid_transition``."""
    slot = await slots.change_slot(session, principal, slot_id, data)
    return SlotRead.of(slot)


# -- public -----------------------------------------------------------------------------------


@public.get("/offerings", summary="Published offerings with their prices",
            responses=problem_responses(422))
async def public_offerings(tenant: SlugPath, session: SessionDep,
                           response: Response) -> PublicOfferingList:
    """No token needed. Active ticket types by position, prices in cents."""
    items = await availability.public_offerings(session, tenant)
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return PublicOfferingList(items=items)


@public.get("/offerings/{offering_id}/availability", response_model=AvailabilityRead,
            summary="Places left per slot and ticket type",
            responses={304: {"description": "Unchanged since the `ETag` sent in "
                                            "`If-None-Match`."},
                       **problem_responses(404, 422)})
async def public_availability(tenant: SlugPath, offering_id: uuid.UUID, from_: FromDay,
                              to: ToDay, session: SessionDep,
                              if_none_match: IfNoneMatch = None) -> Response:
    """No token needed; at most 31 days. Poll with ``If-None-Match``: 304 while nothing
    changed. Cached publicly for 5 seconds."""
    result = await availability.availability_of(session, tenant, offering_id, from_, to)
    body = availability.availability_body(result)
    etag = availability.availability_etag(body)
    headers = {"ETag": etag, "Cache-Control": PUBLIC_CACHE}
    if _none_match(if_none_match, etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(content=body, media_type=JSONResponse.media_type, headers=headers)


router.include_router(staff)
router.include_router(public)
