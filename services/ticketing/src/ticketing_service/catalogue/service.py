"""Use cases of the catalogue: venues, offerings (with their status and optimistic
concurrency), ticket types with combo components and quotas. Opening rules and slots live in
:mod:`.slots`, the public availability in :mod:`.availability`.

Every use case takes the caller and checks access itself: changes need
:func:`ticketing_service.access.require_manager` for the department, staff views
:func:`~ticketing_service.access.require_catalogue_reader`. Rows of another tenant are "not
found". Changing anything below an offering locks the offering's row and raises its
``version`` (its ``ETag``). May flush, never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.auth import Principal
from city_shared.errors import InvalidTransition
from ticketing_service.access import (
    may_manage,
    readable_catalogue_departments,
    require_catalogue_reader,
    require_manager,
)
from ticketing_service.catalogue import repository
from ticketing_service.catalogue.errors import (
    CapacityBelowReserved,
    ComboConsentRequired,
    ComboSharesMismatch,
    InvalidComponent,
    InvalidSalesWindow,
    InvalidVenue,
    NameTaken,
    NotApplicable,
    OfferingNotFound,
    OfferingNotPublishable,
    PreconditionFailed,
    QuotaNotFound,
    TicketTypeNotFound,
    UnknownQuota,
    VenueNotFound,
)
from ticketing_service.catalogue.models import (
    ComboComponent,
    Offering,
    Quota,
    TicketType,
    Venue,
)
from ticketing_service.catalogue.schemas import (
    ComponentCreate,
    OfferingCreate,
    OfferingUpdate,
    QuotaCreate,
    QuotaUpdate,
    TicketTypeCreate,
    TicketTypeUpdate,
    VenueCreate,
    VenueUpdate,
)

__all__ = [
    "add_quota",
    "add_ticket_type",
    "change_offering",
    "change_quota",
    "change_ticket_type",
    "change_venue",
    "create_offering",
    "create_venue",
    "get_offering",
    "get_venue",
    "list_offerings",
    "list_venues",
    "managed_offering",
    "require_timed",
    "touch",
]

#: Allowed status changes of an offering; archived is final.
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"published", "archived"}),
    "published": frozenset({"archived"}),
    "archived": frozenset(),
}


def _now() -> datetime:
    return datetime.now(UTC)


# -- venues -----------------------------------------------------------------------------------


async def create_venue(session: AsyncSession, principal: Principal, data: VenueCreate) -> Venue:
    """A new venue of ``data.department``.

    :raises Forbidden: (403) not a manager of that department.
    :raises NameTaken: (409) the department has a venue of that name.
    """
    require_manager(principal, data.department)
    if await repository.venue_name_taken(session, principal.tenant, data.department, data.name):
        raise NameTaken("venue")
    now = _now()
    venue = Venue(tenant=principal.tenant, department=data.department, name=data.name,
                  address=data.address, timezone=data.timezone,
                  max_occupancy=data.max_occupancy, created_at=now, updated_at=now)
    session.add(venue)
    await _flush_unique(session, "venue")
    return venue


async def get_venue(session: AsyncSession, principal: Principal, venue_id: uuid.UUID) -> Venue:
    """:raises VenueNotFound: (404); :raises Forbidden: (403) not staff of its department."""
    venue = await repository.get_venue(session, principal.tenant, venue_id)
    if venue is None:
        raise VenueNotFound()
    require_catalogue_reader(principal, venue.department)
    return venue


async def list_venues(session: AsyncSession, principal: Principal,
                      department: str | None) -> Sequence[Venue]:
    """The venues of the departments the caller may read."""
    return await repository.list_venues(session, principal.tenant,
                                        departments=readable_catalogue_departments(principal),
                                        department=department)


async def change_venue(session: AsyncSession, principal: Principal, venue_id: uuid.UUID,
                       data: VenueUpdate) -> Venue:
    """Apply the fields sent. :raises VenueNotFound, Forbidden, NameTaken:"""
    venue = await repository.get_venue(session, principal.tenant, venue_id, for_update=True)
    if venue is None:
        raise VenueNotFound()
    require_manager(principal, venue.department)
    fields = data.model_fields_set
    if "name" in fields and data.name is not None and data.name != venue.name:
        if await repository.venue_name_taken(session, venue.tenant, venue.department,
                                             data.name, other_than=venue.id):
            raise NameTaken("venue")
        venue.name = data.name
    if "address" in fields:
        venue.address = data.address
    if "timezone" in fields and data.timezone is not None:
        venue.timezone = data.timezone
    if "max_occupancy" in fields:
        venue.max_occupancy = data.max_occupancy
    venue.updated_at = _now()
    await _flush_unique(session, "venue")
    return venue


# -- offerings --------------------------------------------------------------------------------


async def _usable_venue(session: AsyncSession, tenant: str, department: str,
                        venue_id: uuid.UUID) -> Venue:
    venue = await repository.get_venue(session, tenant, venue_id)
    if venue is None or venue.department != department:
        raise InvalidVenue("The venue must be one of the offering's department.")
    return venue


def _check_window(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and start >= end:
        raise InvalidSalesWindow("sales_start_at must lie before sales_end_at.")


def _check_valid_days(kind: str, valid_days: int | None) -> None:
    if kind in ("pass", "combo") and valid_days is None:
        raise NotApplicable("Passes and combos need valid_days.", field="valid_days")
    if kind == "timed" and valid_days is not None:
        raise NotApplicable("Timed offerings are valid for their slot; valid_days does not "
                            "apply.", field="valid_days")


async def create_offering(session: AsyncSession, principal: Principal,
                          data: OfferingCreate) -> Offering:
    """A new ``draft`` offering of ``data.department`` at one of its venues.

    :raises Forbidden: (403) not a manager of that department.
    :raises InvalidVenue: (422) the venue is not the department's.
    :raises InvalidSalesWindow, NotApplicable: (422)
    """
    require_manager(principal, data.department)
    venue = await _usable_venue(session, principal.tenant, data.department, data.venue_id)
    _check_window(data.sales_start_at, data.sales_end_at)
    _check_valid_days(data.kind, data.valid_days)
    now = _now()
    offering = Offering(
        tenant=principal.tenant, department=data.department, cost_centre=data.cost_centre,
        venue_id=venue.id, venue=venue, kind=data.kind, name=data.name,
        description=data.description, status="draft", currency=data.currency,
        hold_minutes=data.hold_minutes, cancellable_until_hours=data.cancellable_until_hours,
        sales_close_minutes_before=data.sales_close_minutes_before,
        max_tickets_per_order=data.max_tickets_per_order,
        max_tickets_per_account=(data.max_tickets_per_account
                                 if data.max_tickets_per_account is not None
                                 else data.max_tickets_per_order),
        max_open_orders_per_account=data.max_open_orders_per_account,
        valid_days=data.valid_days,
        sales_start_at=data.sales_start_at, sales_end_at=data.sales_end_at, version=1,
        ticket_types=[], quotas=[], rules=[], created_at=now, updated_at=now,
    )
    session.add(offering)
    await session.flush()
    return offering


async def get_offering(session: AsyncSession, principal: Principal,
                       offering_id: uuid.UUID) -> Offering:
    """:raises OfferingNotFound: (404); :raises Forbidden: (403) not staff of its department."""
    offering = await repository.get_offering(session, principal.tenant, offering_id)
    if offering is None:
        raise OfferingNotFound()
    require_catalogue_reader(principal, offering.department)
    return offering


async def list_offerings(session: AsyncSession, principal: Principal, *,
                         department: str | None, status: str | None) -> Sequence[Offering]:
    """The offerings of the departments the caller may read, by department and name."""
    return await repository.list_offerings(session, principal.tenant,
                                           departments=readable_catalogue_departments(principal),
                                           department=department, status=status)


async def managed_offering(session: AsyncSession, principal: Principal,
                           offering_id: uuid.UUID) -> Offering:
    """The offering, locked for a change by a manager of its department.

    :raises OfferingNotFound: (404); :raises Forbidden: (403)
    """
    offering = await repository.get_offering(session, principal.tenant, offering_id,
                                             for_update=True)
    if offering is None:
        raise OfferingNotFound()
    require_manager(principal, offering.department)
    return offering


def touch(offering: Offering) -> None:
    """Record a change of the offering or of anything below it (new ``version``, its ETag)."""
    offering.version += 1
    offering.updated_at = _now()


async def change_offering(session: AsyncSession, principal: Principal, offering_id: uuid.UUID,
                          data: OfferingUpdate, *,
                          expected_versions: frozenset[int] | None) -> Offering:
    """Apply the fields sent, including a status transition, and raise the version.

    ``expected_versions`` (from ``If-Match``; None: any) must contain the current version.
    Publishing needs an active ticket type and, for a timed offering, slots or an opening rule.

    :raises PreconditionFailed: (412) the offering changed since the caller read it.
    :raises InvalidTransition, OfferingNotPublishable: (409)
    :raises InvalidVenue, InvalidSalesWindow, NotApplicable: (422)
    """
    offering = await managed_offering(session, principal, offering_id)
    if expected_versions is not None and offering.version not in expected_versions:
        raise PreconditionFailed("The offering has changed since it was read.",
                                 extra={"version": offering.version})
    fields = data.model_fields_set
    if not fields:
        return offering
    if "venue_id" in fields and data.venue_id is not None:
        venue = await _usable_venue(session, offering.tenant, offering.department,
                                    data.venue_id)
        offering.venue_id = venue.id
        offering.venue = venue
    for name in ("cost_centre", "name", "description", "hold_minutes",
                 "sales_close_minutes_before", "max_tickets_per_order",
                 "max_tickets_per_account", "max_open_orders_per_account"):
        value = getattr(data, name)
        if name in fields and value is not None:
            setattr(offering, name, value)
    for name in ("cancellable_until_hours", "valid_days", "sales_start_at", "sales_end_at"):
        if name in fields:
            setattr(offering, name, getattr(data, name))
    _check_window(offering.sales_start_at, offering.sales_end_at)
    _check_valid_days(offering.kind, offering.valid_days)
    if data.status is not None and data.status != offering.status:
        if data.status not in TRANSITIONS[offering.status]:
            raise InvalidTransition(offering.status, data.status)
        if data.status == "published":
            await _check_publishable(session, offering)
        offering.status = data.status
    touch(offering)
    await session.flush()
    return offering


async def _check_publishable(session: AsyncSession, offering: Offering) -> None:
    missing: list[str] = []
    if not any(t.active for t in offering.ticket_types):
        missing.append("active_ticket_type")
    if offering.kind == "timed" and not offering.rules \
            and not await repository.has_slots(session, offering.id):
        missing.append("slots_or_rule")
    if missing:
        raise OfferingNotPublishable(missing)


# -- ticket types -----------------------------------------------------------------------------


async def _components(session: AsyncSession, principal: Principal, offering: Offering,
                      price: int, wanted: Sequence[ComponentCreate], *,
                      agreed: Sequence[ComboComponent] = ()) -> list[ComboComponent]:
    """The combo components of ``wanted``, checked: each names a timed or pass offering of the
    tenant, the shares add up to ``price``, and a component of another department than the
    combo's is one ``principal`` also manages, or one exactly as already ``agreed`` (same
    offering, visits and share): it grants admissions at that department's gates and books
    its money, so that department must consent.

    :raises InvalidComponent, ComboSharesMismatch: (422)
    :raises ComboConsentRequired: (403)
    """
    found = await repository.offerings_by_id(session, offering.tenant,
                                             [c.offering_id for c in wanted])
    consented = {(c.offering_id, c.visits, c.share) for c in agreed}
    components: list[ComboComponent] = []
    for position, c in enumerate(wanted):
        target = found.get(c.offering_id)
        if target is None or target.kind == "combo":
            raise InvalidComponent(position)
        if (target.department != offering.department
                and (target.id, c.visits, c.share) not in consented
                and not may_manage(principal, target.department)):
            raise ComboConsentRequired(position, target.department)
        components.append(ComboComponent(position=position, offering_id=target.id,
                                         department=target.department,
                                         cost_centre=target.cost_centre, visits=c.visits,
                                         share=c.share))
    shares = sum(c.share for c in components)
    if shares != price:
        raise ComboSharesMismatch(price, shares)
    return components


def _check_ticket_type(offering: Offering, *, visits: int, quota_id: uuid.UUID | None,
                       has_components: bool) -> None:
    if visits > 1 and offering.kind != "pass":
        raise NotApplicable("Only passes give more than one visit per ticket.", field="visits")
    if offering.kind == "combo" and not has_components:
        raise NotApplicable("A combo ticket type needs components.", field="components")
    if offering.kind != "combo" and has_components:
        raise NotApplicable("Only combo ticket types have components.", field="components")
    if quota_id is not None and quota_id not in {q.id for q in offering.quotas}:
        raise UnknownQuota("The quota must be one of this offering's.")


def _code_taken(offering: Offering, code: str, other_than: uuid.UUID | None = None) -> bool:
    return any(t.code == code and t.id != other_than for t in offering.ticket_types)


async def add_ticket_type(session: AsyncSession, principal: Principal, offering_id: uuid.UUID,
                          data: TicketTypeCreate) -> TicketType:
    """A new ticket type of the offering; a combo's components copy department and cost
    centre from their offerings (of any department of the tenant; another department's only
    with its consent, see :func:`_components`).

    :raises OfferingNotFound, Forbidden, ComboConsentRequired: (404, 403)
    :raises NameTaken: (409) the code is used by another ticket type of the offering.
    :raises NotApplicable, UnknownQuota, InvalidComponent, ComboSharesMismatch: (422)
    """
    offering = await managed_offering(session, principal, offering_id)
    _check_ticket_type(offering, visits=data.visits, quota_id=data.quota_id,
                       has_components=data.components is not None)
    if _code_taken(offering, data.code):
        raise NameTaken("ticket type code")
    components = (await _components(session, principal, offering, data.price,
                                    data.components)
                  if data.components is not None else [])
    ticket_type = TicketType(
        id=uuid.uuid4(), offering_id=offering.id, code=data.code, name=data.name,
        price=data.price, places=data.places, visits=data.visits, quota_id=data.quota_id,
        position=data.position, active=data.active, components=components)
    offering.ticket_types.append(ticket_type)
    touch(offering)
    await _flush_unique(session, "ticket type code")
    return ticket_type


async def change_ticket_type(session: AsyncSession, principal: Principal,
                             ticket_type_id: uuid.UUID, data: TicketTypeUpdate) -> TicketType:
    """Apply the fields sent; ``components`` replaces a combo's components, whose shares must
    add up to the (new) price; a component of another department that is not exactly as before
    needs that department's consent (see :func:`_components`).

    :raises TicketTypeNotFound: (404) :raises Forbidden, ComboConsentRequired: (403)
    :raises NameTaken: (409)
    :raises NotApplicable, UnknownQuota, InvalidComponent, ComboSharesMismatch: (422)
    """
    found = await repository.get_ticket_type(session, principal.tenant, ticket_type_id)
    if found is None:
        raise TicketTypeNotFound()
    offering = await managed_offering(session, principal, found.offering_id)
    ticket_type = next(t for t in offering.ticket_types if t.id == ticket_type_id)
    fields = data.model_fields_set
    visits = data.visits if data.visits is not None else ticket_type.visits
    quota_id = data.quota_id if "quota_id" in fields else ticket_type.quota_id
    has_components = (data.components is not None) or bool(ticket_type.components)
    _check_ticket_type(offering, visits=visits, quota_id=quota_id, has_components=has_components)
    if data.code is not None and _code_taken(offering, data.code, ticket_type.id):
        raise NameTaken("ticket type code")
    price = data.price if data.price is not None else ticket_type.price
    if data.components is not None:
        components = await _components(session, principal, offering, price, data.components,
                                       agreed=ticket_type.components)
        ticket_type.components.clear()
        await session.flush()
        ticket_type.components.extend(components)
    elif offering.kind == "combo":
        shares = sum(c.share for c in ticket_type.components)
        if shares != price:
            raise ComboSharesMismatch(price, shares)
    for name in ("code", "name", "price", "places", "visits", "position", "active"):
        value = getattr(data, name)
        if value is not None:
            setattr(ticket_type, name, value)
    ticket_type.quota_id = quota_id
    touch(offering)
    await _flush_unique(session, "ticket type code")
    return ticket_type


# -- quotas -----------------------------------------------------------------------------------


def require_timed(offering: Offering, what: str) -> None:
    """:raises NotApplicable: (422) ``offering`` is not timed (has no ``what``)."""
    if offering.kind != "timed":
        raise NotApplicable(f"Only timed offerings have {what}.", field="kind")


async def add_quota(session: AsyncSession, principal: Principal, offering_id: uuid.UUID,
                    data: QuotaCreate) -> Quota:
    """A per-slot quota of a timed offering.

    :raises OfferingNotFound, Forbidden: :raises NameTaken: (409) :raises NotApplicable: (422)
    """
    offering = await managed_offering(session, principal, offering_id)
    require_timed(offering, "quotas")
    if any(q.name == data.name for q in offering.quotas):
        raise NameTaken("quota")
    quota = Quota(id=uuid.uuid4(), offering_id=offering.id, name=data.name,
                  capacity=data.capacity)
    offering.quotas.append(quota)
    touch(offering)
    await _flush_unique(session, "quota")
    return quota


async def change_quota(session: AsyncSession, principal: Principal, quota_id: uuid.UUID,
                       data: QuotaUpdate) -> Quota:
    """Rename or resize a quota; never below what a slot that has not ended already holds and
    sold of it.

    :raises QuotaNotFound: (404) :raises Forbidden: (403)
    :raises NameTaken, CapacityBelowReserved: (409)
    """
    found = await repository.get_quota(session, principal.tenant, quota_id)
    if found is None:
        raise QuotaNotFound()
    offering = await managed_offering(session, principal, found.offering_id)
    quota = next(q for q in offering.quotas if q.id == quota_id)
    if data.name is not None and data.name != quota.name:
        if any(q.name == data.name for q in offering.quotas):
            raise NameTaken("quota")
        quota.name = data.name
    if data.capacity is not None:
        # Waits for reservations in flight (they share-lock the quota), then sees them.
        await repository.lock_quota(session, quota.id)
        reserved = await repository.quota_overused(session, quota.id, data.capacity, _now())
        if reserved:
            raise CapacityBelowReserved(reserved)
        quota.capacity = data.capacity
    touch(offering)
    await _flush_unique(session, "quota")
    return quota


async def _flush_unique(session: AsyncSession, what: str) -> None:
    """Flush; a unique violation from a concurrent twin becomes :class:`NameTaken`."""
    try:
        await session.flush()
    except IntegrityError as exc:
        if "uq_" in str(exc.orig):
            raise NameTaken(what) from None
        raise
