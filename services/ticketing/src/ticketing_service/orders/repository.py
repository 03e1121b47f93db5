"""Queries of the orders slice; never commits. Every reader filters by
:class:`~ticketing_service.access.OrderVisibility`; every writer of an order locks its row
(``FOR UPDATE``) first, so a payment answer, the hold expiry and a cancellation of one order
run one after the other."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import and_, bindparam, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.elements import ColumnElement

from city_shared.pagination import Cursor
from ticketing_service.access import OrderVisibility
from ticketing_service.catalogue.models import Offering, Slot, TicketType
from ticketing_service.orders.models import Order, OrderLine
from ticketing_service.tickets.models import Entitlement, Ticket

__all__ = [
    "account_open_orders",
    "account_slot_tickets",
    "any_visit_used",
    "due_holds",
    "get_visible",
    "list_page",
    "lock",
    "lock_account",
    "lock_by_reference",
    "slots_by_id",
    "ticket_types_by_id",
]


# Built once: on the order path, building the statements costs more CPU than running them.
_TICKET_TYPES: Final = (
    select(TicketType).join(Offering, Offering.id == TicketType.offering_id)
    .where(TicketType.id.in_(bindparam("ids", expanding=True)),
           Offering.tenant == bindparam("tenant"))
    .options(joinedload(TicketType.offering).noload(Offering.ticket_types),
             joinedload(TicketType.offering).noload(Offering.quotas),
             joinedload(TicketType.offering).noload(Offering.rules))
)
_SLOTS: Final = select(Slot).where(Slot.id.in_(bindparam("ids", expanding=True)),
                                   Slot.tenant == bindparam("tenant"))


async def ticket_types_by_id(session: AsyncSession, tenant: str,
                             ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, TicketType]:
    """The ticket types of ``tenant`` among ``ids``, each with its offering (its venue, not its
    other collections) and components."""
    wanted = set(ids)
    if not wanted:
        return {}
    result = await session.scalars(_TICKET_TYPES, {"ids": list(wanted), "tenant": tenant})
    return {t.id: t for t in result.unique()}


async def slots_by_id(session: AsyncSession, tenant: str,
                      ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, Slot]:
    """The slots of ``tenant`` among ``ids`` (as read now; the counters may change)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    result = await session.scalars(_SLOTS, {"ids": list(wanted), "tenant": tenant})
    return {s.id: s for s in result}


def _visible(v: OrderVisibility) -> ColumnElement[bool]:
    if v.nothing:
        return false()
    conditions: list[ColumnElement[bool]] = [Order.tenant == v.tenant]
    if v.account_id is not None:
        conditions.append(Order.account_id == v.account_id)
    if v.departments is not None:
        conditions.append(exists().where(OrderLine.order_id == Order.id,
                                         OrderLine.department.in_(sorted(v.departments))))
    return and_(*conditions)


async def get_visible(session: AsyncSession, v: OrderVisibility,
                      order_id: uuid.UUID) -> Order | None:
    """The order if ``v`` may see it."""
    result = await session.scalars(select(Order).where(Order.id == order_id, _visible(v)))
    return result.one_or_none()


async def lock(session: AsyncSession, v: OrderVisibility, order_id: uuid.UUID) -> Order | None:
    """The order if ``v`` may see it, row locked and freshly read."""
    result = await session.scalars(
        select(Order).where(Order.id == order_id, _visible(v))
        .with_for_update(of=Order).execution_options(populate_existing=True))
    return result.one_or_none()


async def lock_by_reference(session: AsyncSession, tenant: str, reference: str) -> Order | None:
    """The order with this payment reference, row locked and freshly read."""
    result = await session.scalars(
        select(Order).where(Order.tenant == tenant, Order.reference == reference)
        .with_for_update(of=Order).execution_options(populate_existing=True))
    return result.one_or_none()


async def list_page(
    session: AsyncSession, v: OrderVisibility, *, status: str | None,
    after: Cursor | None, limit: int,
) -> Sequence[Order]:
    """Visible orders, newest first (``placed_at``, then ``id`` descending), ``limit`` + 1 of
    them so the caller knows whether there is a next page."""
    query = select(Order).where(_visible(v))
    if status is not None:
        query = query.where(Order.status == status)
    if after is not None:
        query = query.where(or_(Order.placed_at < after.at,
                                and_(Order.placed_at == after.at, Order.id < after.id)))
    query = query.order_by(Order.placed_at.desc(), Order.id.desc()).limit(limit + 1)
    return list(await session.scalars(query))


async def due_holds(session: AsyncSession, now: datetime, limit: int) -> list[Order]:
    """Up to ``limit`` unpaid orders whose hold ran out by ``now``, oldest first, row locked;
    rows another transaction holds are skipped (a payment answer being applied, another
    sweeper)."""
    result = await session.scalars(
        select(Order)
        .where(Order.status == "awaiting_payment", Order.hold_expires_at <= now)
        .order_by(Order.hold_expires_at).limit(limit)
        .with_for_update(of=Order, skip_locked=True)
        .execution_options(populate_existing=True))
    return list(result)


async def any_visit_used(session: AsyncSession, order_id: uuid.UUID) -> bool:
    """True if a ticket of the order was admitted at a gate at least once."""
    stmt = select(exists().where(Entitlement.ticket_id == Ticket.id, Ticket.order_id == order_id,
                                 Entitlement.visits_used > 0))
    return bool(await session.scalar(stmt))


#: Orders whose tickets an account holds (or will hold once paid).
_HOLDING: Final = ("awaiting_payment", "confirmed", "cancellation_requested")


async def lock_account(session: AsyncSession, tenant: str, account_id: uuid.UUID) -> None:
    """Serialise the orders of one account until the transaction ends (a transaction-scoped
    advisory lock), so two orders placed at once cannot both pass the account's limits."""
    key = f"ticketing.account:{tenant}:{account_id}"
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))


async def account_slot_tickets(session: AsyncSession, tenant: str, account_id: uuid.UUID,
                               slot_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Tickets the account holds per slot of ``slot_ids`` (orders awaiting payment, confirmed
    or being cancelled); slots without any are left out."""
    ids = list(set(slot_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(OrderLine.slot_id, func.sum(OrderLine.quantity))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.tenant == tenant, Order.account_id == account_id,
               Order.status.in_(_HOLDING), OrderLine.slot_id.in_(ids))
        .group_by(OrderLine.slot_id))
    return {slot_id: int(n) for slot_id, n in rows.tuples() if slot_id is not None}


async def account_open_orders(session: AsyncSession, tenant: str, account_id: uuid.UUID,
                              offering_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Orders of the account awaiting payment, per offering of ``offering_ids`` they have a
    line of; offerings without any are left out."""
    ids = list(set(offering_ids))
    rows = await session.execute(
        select(OrderLine.offering_id, func.count(func.distinct(Order.id)))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.tenant == tenant, Order.account_id == account_id,
               Order.status == "awaiting_payment", OrderLine.offering_id.in_(ids))
        .group_by(OrderLine.offering_id))
    return {offering_id: int(n) for offering_id, n in rows.tuples()}
