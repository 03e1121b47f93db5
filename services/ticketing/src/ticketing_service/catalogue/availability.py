"""The public, unauthenticated views of the catalogue: the published offerings of a tenant and
the availability of one offering's slots, cheap enough for frontends to poll.

:func:`availability_of` runs two prebuilt Core queries (the offering with its active ticket
types and their quotas; the slots of the range with their quota usage) and computes the rest in
Python into plain dicts, which :func:`availability_body` serialises once (the documented
``AvailabilityRead`` shape, without a pydantic model per slot and ticket type); the route adds a
weak ``ETag`` over those bytes and ``Cache-Control: public, max-age=5``.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from pydantic_core import to_json
from sqlalchemy import Select, and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing_service.catalogue.errors import OfferingNotFound
from ticketing_service.catalogue.models import (
    Offering,
    Quota,
    Slot,
    SlotQuotaUsage,
    TicketType,
    Venue,
)
from ticketing_service.catalogue.public_schemas import (
    PublicOffering,
    PublicTicketType,
    SlotAvailabilityStatus,
)
from ticketing_service.catalogue.slots import check_range, local_day_bounds

__all__ = [
    "AVAILABILITY_MAX_DAYS",
    "availability_body",
    "availability_etag",
    "availability_of",
    "public_offerings",
    "slot_status",
]

AVAILABILITY_MAX_DAYS: Final = 31
#: ``few_left`` when at most this fraction of the capacity is left.
FEW_LEFT_DIVISOR: Final = 5


def _sales_open(now: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or start <= now) and (end is None or now < end)


def slot_status(*, available: int, capacity: int, best_tickets: int | None,
                open_for_sale: bool) -> SlotAvailabilityStatus:
    """``closed`` unless the slot is on sale; ``sold_out`` when no place (or no ticket of any
    type) is left; ``few_left`` at a fifth of the capacity or less; else ``available``."""
    if not open_for_sale:
        return "closed"
    if available <= 0 or best_tickets == 0:
        return "sold_out"
    if available * FEW_LEFT_DIVISOR <= capacity:
        return "few_left"
    return "available"


def _head_statement() -> Select[Any]:
    offering, venue = Offering.__table__.c, Venue.__table__.c
    ticket_type, quota = TicketType.__table__.c, Quota.__table__.c
    venues, ticket_types, quotas = Venue.__table__, TicketType.__table__, Quota.__table__
    return (
        select(offering.kind, offering.sales_start_at, offering.sales_end_at,
               offering.sales_close_minutes_before, venue.timezone, ticket_type.id,
               ticket_type.code, ticket_type.places, ticket_type.quota_id, quota.capacity)
        .join(venues, venue.id == offering.venue_id)
        .outerjoin(ticket_types, and_(ticket_type.offering_id == offering.id,
                                      ticket_type.active))
        .outerjoin(quotas, quota.id == ticket_type.quota_id)
        .where(offering.id == bindparam("offering_id", type_=offering.id.type),
               offering.tenant == bindparam("tenant", type_=offering.tenant.type),
               offering.status == "published")
        .order_by(ticket_type.position, ticket_type.code)
    )


def _slots_statement() -> Select[Any]:
    slot, usage = Slot.__table__.c, SlotQuotaUsage.__table__.c
    counted = usage.quota_id.is_not(None)
    return (
        select(slot.id, slot.starts_at, slot.ends_at, slot.capacity, slot.held, slot.sold,
               slot.status, func.array_agg(usage.quota_id).filter(counted),
               func.array_agg(usage.held + usage.sold).filter(counted))
        .outerjoin(SlotQuotaUsage.__table__, usage.slot_id == slot.id)
        .where(slot.offering_id == bindparam("offering_id", type_=slot.offering_id.type),
               slot.starts_at >= bindparam("start", type_=slot.starts_at.type),
               slot.starts_at < bindparam("end", type_=slot.starts_at.type),
               slot.status.in_(("open", "closed")))
        .group_by(slot.id)
        .order_by(slot.starts_at)
    )


#: Built once: Core statements on the tables (no ORM entities, so no ORM result loading) whose
#: cache key SQLAlchemy memoises on the statement; the values are bound per request.
_HEAD: Final = _head_statement()
_SLOTS: Final = _slots_statement()


async def availability_of(session: AsyncSession, tenant: str, offering_id: uuid.UUID,
                          from_: date, to: date, *,
                          now: datetime | None = None) -> dict[str, Any]:
    """The open and closed (not cancelled) slots of a published offering that start on local
    dates ``from_`` to ``to`` (inclusive, at most :data:`AVAILABILITY_MAX_DAYS`) of its venue,
    with the places left per slot and per active ticket type (the smaller of the slot's and the
    type's quota remainder). Passes and combos have no slots. Two queries; read-only.

    The answer is the :class:`~ticketing_service.catalogue.public_schemas.AvailabilityRead`
    document as plain dicts and lists (keys as
    serialised, ``from`` included), not validated models: it is built from database values of
    the documented types and serialised once by :func:`availability_body`.

    :raises OfferingNotFound: (404) no published offering of ``tenant`` with that id.
    :raises InvalidRange, RangeTooLong: (422)
    """
    check_range(from_, to, AVAILABILITY_MAX_DAYS)
    now = now or datetime.now(UTC)
    connection = await session.connection()
    rows = (await connection.execute(_HEAD, {"offering_id": offering_id,
                                             "tenant": tenant})).all()
    if not rows:
        raise OfferingNotFound()
    kind, sales_start, sales_end, close_minutes, timezone = rows[0][:5]
    # Ids as text up front: the serialiser is several times slower on the driver's UUID
    # subclass than on str. A quota without a capacity limits nothing.
    types = [(str(r[5]), r[6], r[7], r[8] if r[9] is not None else None, r[9])
             for r in rows if r[5] is not None]
    sales_open = _sales_open(now, sales_start, sales_end)
    slots: list[dict[str, Any]] = []
    result: dict[str, Any] = {"offering_id": str(offering_id), "from": from_, "to": to,
                              "timezone": timezone, "sales_open": sales_open, "slots": slots}
    if kind != "timed":
        return result
    start, end = local_day_bounds(from_, to, ZoneInfo(timezone))
    # on sale while now < starts_at - close_minutes
    sales_close = now + timedelta(minutes=close_minutes)
    found = await connection.execute(_SLOTS, {"offering_id": offering_id, "start": start,
                                              "end": end})
    for slot_id, starts_at, ends_at, capacity, held, sold, status, quota_ids, quota_used \
            in found.all():
        available = max(0, capacity - held - sold)
        usage = dict(zip(quota_ids, quota_used, strict=True)) if quota_ids else {}
        per_type = []
        best: int | None = None
        for type_id, code, places_per_ticket, quota_id, quota_capacity in types:
            places = available
            if quota_id is not None:
                places = min(places, max(0, quota_capacity - usage.get(quota_id, 0)))
            tickets = places // places_per_ticket
            if best is None or tickets > best:
                best = tickets
            per_type.append({"ticket_type_id": type_id, "code": code, "available": places,
                             "tickets": tickets})
        on_sale = sales_open and status == "open" and sales_close < starts_at
        slots.append({
            "slot_id": str(slot_id), "starts_at": starts_at, "ends_at": ends_at,
            "available": available,
            "status": slot_status(available=available, capacity=capacity, best_tickets=best,
                                  open_for_sale=on_sale),
            "ticket_types": per_type})
    return result


def availability_body(result: dict[str, Any]) -> bytes:
    """The JSON of an :func:`availability_of` answer, byte for byte what
    ``AvailabilityRead.model_dump_json(by_alias=True)`` gives (pydantic's serialiser: compact,
    UUIDs and ISO dates as strings, UTC as ``Z``) without building and validating a model per
    slot and ticket type."""
    return to_json(result)


def availability_etag(body: bytes) -> str:
    """A weak entity tag over the serialised answer: it changes when any number or status
    does."""
    return f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'


async def public_offerings(session: AsyncSession, tenant: str, *,
                           now: datetime | None = None) -> list[PublicOffering]:
    """The published offerings of ``tenant`` with their active ticket types (by position) and
    the venue's name, by department and name. One query."""
    now = now or datetime.now(UTC)
    stmt = (
        select(Offering.id, Offering.department, Offering.kind, Offering.name,
               Offering.description, Venue.name, Offering.currency, Offering.valid_days,
               Offering.max_tickets_per_order, Offering.sales_start_at, Offering.sales_end_at,
               TicketType.id, TicketType.code, TicketType.name, TicketType.price,
               TicketType.places, TicketType.visits)
        .join(Venue, Venue.id == Offering.venue_id)
        .outerjoin(TicketType, and_(TicketType.offering_id == Offering.id, TicketType.active))
        .where(Offering.tenant == tenant, Offering.status == "published")
        .order_by(Offering.department, Offering.name, Offering.id, TicketType.position,
                  TicketType.code)
    )
    offerings: dict[uuid.UUID, PublicOffering] = {}
    for row in (await session.execute(stmt)).all():
        offering = offerings.get(row[0])
        if offering is None:
            offering = PublicOffering(
                offering_id=row[0], department=row[1], kind=row[2], name=row[3],
                description=row[4], venue_name=row[5], currency=row[6], valid_days=row[7],
                max_tickets_per_order=row[8], sales_open=_sales_open(now, row[9], row[10]),
                ticket_types=[])
            offerings[row[0]] = offering
        if row[11] is not None:
            offering.ticket_types.append(PublicTicketType(
                ticket_type_id=row[11], code=row[12], name=row[13], price=row[14],
                places=row[15], visits=row[16]))
    return list(offerings.values())
