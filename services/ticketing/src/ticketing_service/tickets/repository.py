"""Queries of the tickets slice; never commits. The counters a gate changes (visits used, people
present) are changed only by conditional UPDATEs, so concurrent scans cannot overshoot."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from city_shared.pagination import Cursor
from ticketing_service.access import OrderVisibility
from ticketing_service.catalogue.models import Offering, Slot, TicketType, Venue
from ticketing_service.orders.models import Order, OrderLine
from ticketing_service.tickets.models import CheckIn, Entitlement, Ticket

__all__ = [
    "Catalogue",
    "admit",
    "any_visit_used",
    "checkin_by_scan",
    "decrement_present",
    "increment_present",
    "list_tickets",
    "load_catalogue",
    "lock_order",
    "lock_ticket",
    "ticket_by_code",
    "ticket_by_id",
    "ticket_type_name",
    "tickets_of_order",
    "venue",
    "visible_ticket",
    "void_valid_tickets",
]


@dataclass(frozen=True)
class Catalogue:
    """The catalogue rows some tickets refer to, by id."""

    offerings: dict[uuid.UUID, Offering]
    ticket_types: dict[uuid.UUID, TicketType]
    slots: dict[uuid.UUID, Slot]
    lines: dict[uuid.UUID, OrderLine]


async def lock_order(session: AsyncSession, order_id: uuid.UUID) -> None:
    """Lock the order's row until the transaction ends (serialises issuing per order)."""
    await session.execute(select(Order.id).where(Order.id == order_id).with_for_update())


async def tickets_of_order(session: AsyncSession, order_id: uuid.UUID) -> list[Ticket]:
    """The order's tickets by line position, then code."""
    result = await session.scalars(
        select(Ticket).join(OrderLine, OrderLine.id == Ticket.order_line_id)
        .where(Ticket.order_id == order_id)
        .order_by(OrderLine.position, Ticket.code)
    )
    return list(result)


async def load_catalogue(
    session: AsyncSession, *, offering_ids: Iterable[uuid.UUID],
    ticket_type_ids: Iterable[uuid.UUID], slot_ids: Iterable[uuid.UUID | None],
    line_ids: Iterable[uuid.UUID] = (),
) -> Catalogue:
    """The offerings (with venue), ticket types (with components), slots and order lines."""
    o_ids, t_ids = set(offering_ids), set(ticket_type_ids)
    s_ids = {s for s in slot_ids if s is not None}
    l_ids = set(line_ids)
    offerings = {o.id: o for o in await session.scalars(
        select(Offering).where(Offering.id.in_(o_ids)))} if o_ids else {}
    types = {t.id: t for t in await session.scalars(
        select(TicketType).where(TicketType.id.in_(t_ids)))} if t_ids else {}
    slots = {s.id: s for s in await session.scalars(
        select(Slot).where(Slot.id.in_(s_ids)))} if s_ids else {}
    lines = {line.id: line for line in await session.scalars(
        select(OrderLine).where(OrderLine.id.in_(l_ids)))} if l_ids else {}
    return Catalogue(offerings, types, slots, lines)


async def any_visit_used(session: AsyncSession, order_id: uuid.UUID) -> bool:
    """True if a ticket of the order has been admitted at least once."""
    used = await session.scalar(
        select(exists().where(Entitlement.ticket_id == Ticket.id, Ticket.order_id == order_id,
                              Entitlement.visits_used > 0)))
    return bool(used)


async def void_valid_tickets(session: AsyncSession, order_id: uuid.UUID, *, reason: str,
                             now: datetime,
                             departments: Iterable[str] | None = None) -> list[Ticket]:
    """Void the order's valid tickets (with ``departments``: only those sold by or admitting
    to one of them); the ones this call voided (none if already void)."""
    conditions: list[ColumnElement[bool]] = [Ticket.order_id == order_id,
                                             Ticket.status == "valid"]
    if departments is not None:
        names = sorted(set(departments))
        conditions.append(or_(
            Ticket.department.in_(names),
            exists().where(Entitlement.ticket_id == Ticket.id,
                           Entitlement.department.in_(names))))
    ids = list(await session.scalars(
        update(Ticket)
        .where(*conditions)
        .values(status="voided", voided_at=now, void_reason=reason)
        .returning(Ticket.id)
        .execution_options(synchronize_session=False)
    ))
    if not ids:
        return []
    result = await session.scalars(
        select(Ticket).where(Ticket.id.in_(ids))
        .execution_options(populate_existing=True).order_by(Ticket.code))
    return list(result)


def _visible(v: OrderVisibility) -> ColumnElement[bool]:
    if v.nothing:
        return Ticket.id.is_(None)
    conditions: list[ColumnElement[bool]] = [Ticket.tenant == v.tenant]
    if v.account_id is not None:
        conditions.append(Ticket.holder_account_id == v.account_id)
    if v.departments is not None:
        departments = sorted(v.departments)
        conditions.append(or_(
            Ticket.department.in_(departments),
            exists().where(Entitlement.ticket_id == Ticket.id,
                           Entitlement.department.in_(departments)),
        ))
    return and_(*conditions)


async def visible_ticket(session: AsyncSession, v: OrderVisibility,
                         ticket_id: uuid.UUID) -> Ticket | None:
    """The ticket if ``v`` may see it."""
    result = await session.scalars(select(Ticket).where(Ticket.id == ticket_id, _visible(v)))
    return result.one_or_none()


async def list_tickets(
    session: AsyncSession, v: OrderVisibility, *, status: str | None,
    department: str | None, order_id: uuid.UUID | None,
    after: Cursor | None, limit: int,
) -> Sequence[Ticket]:
    """Visible tickets, newest first (``issued_at``, then ``id`` descending), ``limit`` + 1 of
    them so the caller knows whether there is a next page."""
    query = select(Ticket).where(_visible(v))
    if status is not None:
        query = query.where(Ticket.status == status)
    if department is not None:
        query = query.where(or_(
            Ticket.department == department,
            exists().where(Entitlement.ticket_id == Ticket.id,
                           Entitlement.department == department)))
    if order_id is not None:
        query = query.where(Ticket.order_id == order_id)
    if after is not None:
        query = query.where(or_(Ticket.issued_at < after.at,
                                and_(Ticket.issued_at == after.at, Ticket.id < after.id)))
    query = query.order_by(Ticket.issued_at.desc(), Ticket.id.desc()).limit(limit + 1)
    return list(await session.scalars(query))


async def ticket_by_id(session: AsyncSession, tenant: str, ticket_id: uuid.UUID) -> Ticket | None:
    result = await session.scalars(
        select(Ticket).where(Ticket.id == ticket_id, Ticket.tenant == tenant)
        .execution_options(populate_existing=True))
    return result.one_or_none()


async def ticket_by_code(session: AsyncSession, tenant: str, code: str) -> Ticket | None:
    result = await session.scalars(
        select(Ticket).where(Ticket.code == code, Ticket.tenant == tenant)
        .execution_options(populate_existing=True))
    return result.one_or_none()


async def share_lock_order_status(session: AsyncSession, order_id: uuid.UUID) -> str | None:
    """The status of the ticket's order, its row share-locked until the transaction ends: a
    cancellation (which locks the order for update) waits for an admission in flight, and an
    admission waits for a cancellation in flight and then sees it."""
    status = await session.scalar(
        select(Order.status).where(Order.id == order_id).with_for_update(read=True))
    return None if status is None else str(status)


async def lock_ticket(session: AsyncSession, ticket_id: uuid.UUID) -> None:
    """Lock the ticket's row until the transaction ends (serialises its exits)."""
    await session.execute(select(Ticket.id).where(Ticket.id == ticket_id).with_for_update())


async def ticket_type_name(session: AsyncSession, ticket_type_id: uuid.UUID) -> str:
    name = await session.scalar(select(TicketType.name).where(TicketType.id == ticket_type_id))
    return name or ""


async def venue(session: AsyncSession, tenant: str, venue_id: uuid.UUID) -> Venue | None:
    """The venue of ``tenant``, fresh from the database."""
    result = await session.scalars(
        select(Venue).where(Venue.id == venue_id, Venue.tenant == tenant)
        .execution_options(populate_existing=True))
    return result.one_or_none()


async def checkin_by_scan(session: AsyncSession, tenant: str, scan_id: str) -> CheckIn | None:
    result = await session.scalars(
        select(CheckIn).where(CheckIn.tenant == tenant, CheckIn.scan_id == scan_id))
    return result.one_or_none()


async def admit(session: AsyncSession, entitlement_id: uuid.UUID) -> int | None:
    """Use one visit of the entitlement if one is left (race-free: the condition and the
    increment are one statement); the visits left afterwards, or None if none was left."""
    left = await session.scalar(
        update(Entitlement)
        .where(Entitlement.id == entitlement_id,
               Entitlement.visits_used < Entitlement.visits_total)
        .values(visits_used=Entitlement.visits_used + 1)
        .returning(Entitlement.visits_total - Entitlement.visits_used)
        .execution_options(synchronize_session=False)
    )
    return None if left is None else int(left)


async def increment_present(session: AsyncSession, venue_id: uuid.UUID, now: datetime) -> None:
    """One more person inside the venue."""
    await session.execute(
        update(Venue).where(Venue.id == venue_id)
        .values(present=Venue.present + 1, updated_at=now)
        .execution_options(synchronize_session=False))


async def decrement_present(session: AsyncSession, venue_id: uuid.UUID, now: datetime) -> bool:
    """One person fewer inside the venue, never below zero; False if it was already zero."""
    result = await session.scalar(
        update(Venue).where(Venue.id == venue_id, Venue.present > 0)
        .values(present=Venue.present - 1, updated_at=now)
        .returning(Venue.id)
        .execution_options(synchronize_session=False))
    return result is not None
