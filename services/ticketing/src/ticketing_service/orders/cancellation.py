"""A citizen cancels a confirmed order within the offering's rule, unless a ticket of it was
used at a gate: the refund is requested from payment and from then on the gates answer
``cancelled`` for its tickets; tickets are voided and places released when the refund succeeded
(:func:`~ticketing_service.orders.service.finish_cancellation`), and admit again if it failed.
The order's row lock orders a cancellation and an admission in flight (the gate share-locks
the order). The order records the refund command (:meth:`Order.request_cancellation`); flushes,
never commits."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.auth import Principal
from ticketing_service.access import order_visibility
from ticketing_service.orders import repository
from ticketing_service.orders.errors import (
    CancellationNotAllowed,
    NotABuyer,
    OrderNotFound,
    TicketsUsed,
)
from ticketing_service.orders.models import Order
from ticketing_service.orders.service import finish_cancellation

__all__ = ["CANCELLED_BY_CITIZEN", "cancel_order"]

CANCELLED_BY_CITIZEN: Final = "cancelled_by_citizen"


async def _cancellation_deadline(session: AsyncSession, order: Order) -> datetime | None:
    """Until when the citizen may cancel: the earliest ``slot start - cancellable_until_hours``
    over the timed lines (None: no timed line; passes and combos until the first visit).

    :raises CancellationNotAllowed: an offering of the order is not cancellable by citizens.
    """
    catalogue = await repository.catalogue_of(
        session, order.tenant, ((line.ticket_type_id, line.slot_id) for line in order.lines))
    types, slots = catalogue.types, catalogue.slots
    deadline: datetime | None = None
    for line in order.lines:
        hours = types[line.ticket_type_id].offering.cancellable_until_hours
        if hours is None:
            raise CancellationNotAllowed(
                "Tickets of this order cannot be cancelled online.", None)
        if line.slot_id is not None:
            latest = slots[line.slot_id].starts_at - timedelta(hours=hours)
            deadline = latest if deadline is None else min(deadline, latest)
    return deadline


async def cancel_order(session: AsyncSession, principal: Principal, order_id: uuid.UUID, *,
                       now: datetime) -> Order:
    """The citizen cancels a confirmed order: ``cancellation_requested`` and the refund of the
    total is requested from payment; the tickets admit no more from now on and are voided when
    the refund succeeded (see :func:`finish_cancellation`). A free order is refunded at once.

    :raises NotABuyer: (403) not a citizen.
    :raises OrderNotFound: (404) not the citizen's order.
    :raises InvalidTransition: (409) the order is not confirmed.
    :raises CancellationNotAllowed: (409) not cancellable by citizens, or too late.
    :raises TicketsUsed: (409) a ticket was already used.
    """
    if principal.kind != "citizen":
        raise NotABuyer("Only the citizen who bought the tickets cancels them here.")
    order = await repository.lock(session, order_visibility(principal), order_id)
    if order is None:
        raise OrderNotFound()
    # A wrong status is answered before the offerings' rules are read.
    order.require("cancellation_requested")
    deadline = await _cancellation_deadline(session, order)
    if deadline is not None and now > deadline:
        raise CancellationNotAllowed("The deadline for cancelling this order has passed.",
                                     deadline)
    if await repository.any_visit_used(session, order.id):
        raise TicketsUsed("A ticket of this order was already used.")
    # What staff may already have paid back at payment is not asked for twice.
    outstanding = order.request_cancellation(CANCELLED_BY_CITIZEN, now)
    if outstanding <= 0:
        await finish_cancellation(session, order, order.refunded_amount, now=now)
    await session.flush()
    return order
