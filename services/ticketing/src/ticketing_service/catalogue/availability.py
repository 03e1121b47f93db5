"""The public, unauthenticated views of the catalogue: the published offerings of a tenant and
the availability of one offering's slots, cheap enough for frontends to poll.

:func:`availability_of` runs two queries (the offering with its active ticket types and their
quotas; the slots of the range with their quota usage) and computes the rest in Python; the
route adds a weak ``ETag`` over the answer and ``Cache-Control: public, max-age=5``.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
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
    AvailabilityRead,
    PublicOffering,
    PublicTicketType,
    SlotAvailability,
    SlotAvailabilityStatus,
    TicketTypeAvailability,
)
from ticketing_service.catalogue.slots import check_range, local_day_bounds

__all__ = [
    "AVAILABILITY_MAX_DAYS",
    "availability_etag",
    "availability_of",
    "public_offerings",
    "slot_status",
]

AVAILABILITY_MAX_DAYS: Final = 31
#: ``few_left`` when at most this fraction of the capacity is left.
FEW_LEFT_DIVISOR: Final = 5


@dataclass(frozen=True)
class _Type:
    id: uuid.UUID
    code: str
    places: int
    quota_id: uuid.UUID | None
    quota_capacity: int | None


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


async def availability_of(session: AsyncSession, tenant: str, offering_id: uuid.UUID,
                          from_: date, to: date, *,
                          now: datetime | None = None) -> AvailabilityRead:
    """The open and closed (not cancelled) slots of a published offering that start on local
    dates ``from_`` to ``to`` (inclusive, at most :data:`AVAILABILITY_MAX_DAYS`) of its venue,
    with the places left per slot and per active ticket type (the smaller of the slot's and the
    type's quota remainder). Passes and combos have no slots. Two queries; read-only.

    :raises OfferingNotFound: (404) no published offering of ``tenant`` with that id.
    :raises InvalidRange, RangeTooLong: (422)
    """
    check_range(from_, to, AVAILABILITY_MAX_DAYS)
    now = now or datetime.now(UTC)
    head = (
        select(Offering.kind, Offering.sales_start_at, Offering.sales_end_at,
               Offering.sales_close_minutes_before, Venue.timezone, TicketType.id,
               TicketType.code, TicketType.places, TicketType.quota_id, Quota.capacity)
        .join(Venue, Venue.id == Offering.venue_id)
        .outerjoin(TicketType, and_(TicketType.offering_id == Offering.id, TicketType.active))
        .outerjoin(Quota, Quota.id == TicketType.quota_id)
        .where(Offering.id == offering_id, Offering.tenant == tenant,
               Offering.status == "published")
        .order_by(TicketType.position, TicketType.code)
    )
    rows = (await session.execute(head)).all()
    if not rows:
        raise OfferingNotFound()
    kind, sales_start, sales_end, close_minutes, timezone = rows[0][:5]
    types = [_Type(r[5], r[6], r[7], r[8], r[9]) for r in rows if r[5] is not None]
    sales_open = _sales_open(now, sales_start, sales_end)
    zone = ZoneInfo(timezone)
    result = AvailabilityRead(offering_id=offering_id, from_=from_, to=to, timezone=timezone,
                              sales_open=sales_open, slots=[])
    if kind != "timed":
        return result
    start, end = local_day_bounds(from_, to, zone)
    used = func.array_agg(SlotQuotaUsage.quota_id).filter(SlotQuotaUsage.quota_id.is_not(None))
    amounts = func.array_agg(SlotQuotaUsage.held + SlotQuotaUsage.sold).filter(
        SlotQuotaUsage.quota_id.is_not(None))
    slots = (
        select(Slot.id, Slot.starts_at, Slot.ends_at, Slot.capacity, Slot.held, Slot.sold,
               Slot.status, used, amounts)
        .outerjoin(SlotQuotaUsage, SlotQuotaUsage.slot_id == Slot.id)
        .where(Slot.offering_id == offering_id, Slot.starts_at >= start, Slot.starts_at < end,
               Slot.status.in_(("open", "closed")))
        .group_by(Slot.id)
        .order_by(Slot.starts_at)
    )
    close_before = timedelta(minutes=close_minutes)
    for slot_id, starts_at, ends_at, capacity, held, sold, status, quota_ids, quota_used \
            in (await session.execute(slots)).all():
        available = max(0, capacity - held - sold)
        usage = dict(zip(quota_ids or [], quota_used or [], strict=True))
        per_type = []
        for t in types:
            places = available
            if t.quota_id is not None and t.quota_capacity is not None:
                places = min(places, max(0, t.quota_capacity - usage.get(t.quota_id, 0)))
            per_type.append(TicketTypeAvailability(ticket_type_id=t.id, code=t.code,
                                                   available=places,
                                                   tickets=places // t.places))
        on_sale = sales_open and status == "open" and now < starts_at - close_before
        result.slots.append(SlotAvailability(
            slot_id=slot_id, starts_at=starts_at, ends_at=ends_at, available=available,
            status=slot_status(available=available, capacity=capacity,
                               best_tickets=max((p.tickets for p in per_type), default=None),
                               open_for_sale=on_sale),
            ticket_types=per_type))
    return result


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
