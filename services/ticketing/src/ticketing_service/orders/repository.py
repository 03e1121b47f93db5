"""Queries of the orders slice; never commits. Every reader filters by
:class:`~ticketing_service.access.OrderVisibility`; every writer of an order locks its row
(``FOR UPDATE``) first, so a payment answer, the hold expiry and a cancellation of one order
run one after the other."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final, NamedTuple

from sqlalchemy import and_, exists, false, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.sql.elements import ColumnElement

from city_shared.pagination import Cursor
from ticketing_service.access import OrderVisibility
from ticketing_service.orders.catalogue import (
    Catalogue,
    SaleComponent,
    SaleOffering,
    SaleSlot,
    SaleType,
)
from ticketing_service.orders.models import Order, OrderLine
from ticketing_service.tickets.models import Entitlement, Ticket

__all__ = [
    "OrderHead",
    "account_holdings",
    "add_new",
    "any_visit_used",
    "catalogue_of",
    "due_holds",
    "get_visible",
    "list_page",
    "lock",
    "lock_account",
    "lock_by_reference",
    "lock_head_by_reference",
    "remember_payment",
]


# The order path's statements: built once, plain SQL (building or compiling expressions per
# request costs more CPU than running them), one round trip each.
_CATALOGUE: Final = text(
    "SELECT t.id, t.name, t.price, t.places, t.quota_id, t.active, "
    "o.id, o.department, o.cost_centre, o.kind, o.name, o.status, o.currency, o.hold_minutes, "
    "o.cancellable_until_hours, o.sales_close_minutes_before, o.max_tickets_per_order, "
    "o.max_tickets_per_account, o.max_open_orders_per_account, o.sales_start_at, "
    "o.sales_end_at, c.departments, c.cost_centres, c.shares, "
    "s.id, s.offering_id, s.starts_at, s.status, s.capacity, s.held, s.sold "
    "FROM unnest(CAST(:type_ids AS uuid[]), CAST(:slot_ids AS uuid[])) AS w(type_id, slot_id) "
    "LEFT JOIN (ticket_types AS t JOIN offerings AS o "
    "           ON o.id = t.offering_id AND o.tenant = :tenant) ON t.id = w.type_id "
    "LEFT JOIN LATERAL (SELECT array_agg(cc.department ORDER BY cc.position) AS departments, "
    "                          array_agg(cc.cost_centre ORDER BY cc.position) AS cost_centres, "
    "                          array_agg(cc.share ORDER BY cc.position) AS shares "
    "                   FROM combo_components AS cc WHERE cc.ticket_type_id = t.id) AS c "
    "ON true "
    "LEFT JOIN slots AS s ON s.id = w.slot_id AND s.tenant = :tenant"
)


async def catalogue_of(session: AsyncSession, tenant: str,
                       wanted: Iterable[tuple[uuid.UUID, uuid.UUID | None]]) -> Catalogue:
    """The ticket types (with offering and combo shares) and slots of ``tenant`` among the
    (ticket type, slot) pairs ``wanted``, e.g. of a basket's lines, in one statement."""
    pairs = list(dict.fromkeys(wanted))
    types: dict[uuid.UUID, SaleType] = {}
    slots: dict[uuid.UUID, SaleSlot] = {}
    if not pairs:
        return Catalogue(types, slots)
    rows = await session.execute(_CATALOGUE, {
        "tenant": tenant, "type_ids": [t for t, _ in pairs], "slot_ids": [s for _, s in pairs]})
    offerings: dict[uuid.UUID, SaleOffering] = {}
    for r in rows.tuples():
        if r[0] is not None and r[0] not in types:
            offering = offerings.get(r[6])
            if offering is None:
                offering = offerings[r[6]] = SaleOffering(*r[6:21])
            components = tuple(SaleComponent(*c) for c in zip(r[21], r[22], r[23], strict=True)
                               ) if r[21] else ()
            types[r[0]] = SaleType(r[0], r[1], r[2], r[3], r[4], r[5], offering, components)
        if r[24] is not None and r[24] not in slots:
            slots[r[24]] = SaleSlot(*r[24:31])
    return Catalogue(types, slots)


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


class OrderHead(NamedTuple):
    """The columns of an order that ``payment.created`` is checked against and changes."""

    id: uuid.UUID
    status: str
    total: int
    currency: str
    payment_id: uuid.UUID | None
    checkout_url: str | None


_LOCK_HEAD: Final = text(
    "SELECT id, status, total, currency, payment_id, checkout_url FROM orders "
    "WHERE tenant = :tenant AND reference = :reference FOR UPDATE")
_REMEMBER_PAYMENT: Final = text(
    "UPDATE orders SET payment_id = :payment_id, checkout_url = :checkout_url, "
    "version = version + 1, updated_at = :now WHERE id = :id")


async def lock_head_by_reference(session: AsyncSession, tenant: str,
                                 reference: str) -> OrderHead | None:
    """The head of the order with this payment reference, its row locked as
    :func:`lock_by_reference` locks it (one statement: no ORM object, no lines or items).
    Pending ORM changes are flushed first, so the row read is the transaction's own."""
    await session.flush()
    row = (await session.execute(_LOCK_HEAD, {"tenant": tenant, "reference": reference})
           ).first()
    return OrderHead(*row) if row is not None else None


async def remember_payment(session: AsyncSession, order_id: uuid.UUID, *,
                           payment_id: uuid.UUID | None, checkout_url: str | None,
                           now: datetime) -> None:
    """Set the locked order's payment id and checkout page, as :meth:`Order.touch` would
    (a new ``version``, ``updated_at`` = ``now``), in one statement."""
    await session.execute(_REMEMBER_PAYMENT, {
        "id": order_id, "payment_id": payment_id, "checkout_url": checkout_url, "now": now})


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


_LOCK_ACCOUNT: Final = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


async def lock_account(session: AsyncSession, tenant: str, account_id: uuid.UUID) -> None:
    """Serialise the orders of one account until the transaction ends (a transaction-scoped
    advisory lock), so two orders placed at once cannot both pass the account's limits."""
    await session.execute(_LOCK_ACCOUNT, {"key": f"ticketing.account:{tenant}:{account_id}"})


_HOLDINGS: Final = text(
    "SELECT 'open_orders' AS what, l.offering_id AS id, count(DISTINCT o.id) AS n "
    "FROM order_lines AS l JOIN orders AS o ON o.id = l.order_id "
    "WHERE o.tenant = :tenant AND o.account_id = :account AND o.status = 'awaiting_payment' "
    "AND l.offering_id = ANY(CAST(:offering_ids AS uuid[])) GROUP BY l.offering_id "
    "UNION ALL "
    "SELECT 'slot_tickets', l.slot_id, sum(l.quantity) "
    "FROM order_lines AS l JOIN orders AS o ON o.id = l.order_id "
    "WHERE o.tenant = :tenant AND o.account_id = :account "
    "AND o.status IN ('awaiting_payment', 'confirmed', 'cancellation_requested') "
    "AND l.slot_id = ANY(CAST(:slot_ids AS uuid[])) GROUP BY l.slot_id"
)


async def account_holdings(
    session: AsyncSession, tenant: str, account_id: uuid.UUID, *,
    offering_ids: Iterable[uuid.UUID], slot_ids: Iterable[uuid.UUID],
) -> tuple[dict[uuid.UUID, int], dict[uuid.UUID, int]]:
    """In one statement: the account's orders awaiting payment per offering of
    ``offering_ids`` they have a line of, and the tickets it holds per slot of ``slot_ids``
    (orders awaiting payment, confirmed or being cancelled); ids without any are left out.

    Read it after :func:`lock_account` in a statement of its own: a statement takes its
    snapshot when it starts, so counts read in the locking statement would miss the orders
    committed while it waited for the lock."""
    rows = await session.execute(_HOLDINGS, {
        "tenant": tenant, "account": account_id, "offering_ids": list(set(offering_ids)),
        "slot_ids": list(set(slot_ids))})
    open_orders: dict[uuid.UUID, int] = {}
    slot_tickets: dict[uuid.UUID, int] = {}
    for what, id_, n in rows.tuples():
        (open_orders if what == "open_orders" else slot_tickets)[id_] = int(n)
    return open_orders, slot_tickets


# A new order, its lines and payment items in one statement (the lines' and items' columns as
# arrays, one element per row); the foreign keys are checked at the statement's end.
_INSERT_ORDER: Final = text(
    "WITH o AS (INSERT INTO orders (id, tenant, account_id, contact_email, locale, placed_by, "
    "status, reason, total, currency, reference, payment_id, checkout_url, return_url, "
    "refunded_amount, correlation_id, traceparent, erased, version, hold_expires_at, "
    "placed_at, confirmed_at, closed_at, updated_at) VALUES (CAST(:id AS uuid), :tenant, "
    ":account_id, :contact_email, :locale, :placed_by, :status, :reason, :total, :currency, "
    ":reference, :payment_id, :checkout_url, :return_url, :refunded_amount, :correlation_id, "
    ":traceparent, :erased, :version, :hold_expires_at, :placed_at, :confirmed_at, "
    ":closed_at, :updated_at)), "
    "l AS (INSERT INTO order_lines (id, order_id, position, tenant, department, cost_centre, "
    "offering_id, ticket_type_id, slot_id, quota_id, quantity, places, unit_price, amount, "
    "description) SELECT l.id, CAST(:id AS uuid), l.position, :tenant, l.department, "
    "l.cost_centre, l.offering_id, l.ticket_type_id, l.slot_id, l.quota_id, l.quantity, "
    "l.places, l.unit_price, l.amount, l.description "
    "FROM unnest(CAST(:l_id AS uuid[]), CAST(:l_position AS int[]), "
    "CAST(:l_department AS text[]), CAST(:l_cost_centre AS text[]), "
    "CAST(:l_offering_id AS uuid[]), CAST(:l_ticket_type_id AS uuid[]), "
    "CAST(:l_slot_id AS uuid[]), CAST(:l_quota_id AS uuid[]), CAST(:l_quantity AS int[]), "
    "CAST(:l_places AS int[]), CAST(:l_unit_price AS bigint[]), CAST(:l_amount AS bigint[]), "
    "CAST(:l_description AS text[])) AS l(id, position, department, cost_centre, offering_id, "
    "ticket_type_id, slot_id, quota_id, quantity, places, unit_price, amount, description)) "
    "INSERT INTO order_payment_items (order_id, position, department, cost_centre, "
    "description, amount) SELECT CAST(:id AS uuid), p.position, p.department, p.cost_centre, "
    "p.description, p.amount "
    "FROM unnest(CAST(:p_position AS int[]), CAST(:p_department AS text[]), "
    "CAST(:p_cost_centre AS text[]), CAST(:p_description AS text[]), "
    "CAST(:p_amount AS bigint[])) AS p(position, department, cost_centre, description, amount)"
)
_ORDER_COLUMNS: Final = tuple(c.key for c in Order.__table__.columns)
_LINE_COLUMNS: Final = ("id", "position", "department", "cost_centre", "offering_id",
                        "ticket_type_id", "slot_id", "quota_id", "quantity", "places",
                        "unit_price", "amount", "description")
_ITEM_COLUMNS: Final = ("position", "department", "cost_centre", "description", "amount")


async def add_new(session: AsyncSession, order: Order) -> None:
    """Write the new ``order`` (every column set, ``lines`` and ``payment_items`` too) in one
    statement instead of a flush of three tables, then make it and its lines and items
    persistent in ``session`` as if just loaded: later changes (a free order's confirmation)
    are flushed as usual, and events it records from now on go to the session's unit of work
    (record them after this, see :class:`city_shared.unit_of_work.RecordsEvents`)."""
    params: dict[str, Any] = {name: getattr(order, name) for name in _ORDER_COLUMNS}
    for name in _LINE_COLUMNS:
        params[f"l_{name}"] = [getattr(line, name) for line in order.lines]
    for name in _ITEM_COLUMNS:
        params[f"p_{name}"] = [getattr(item, name) for item in order.payment_items]
    await session.execute(_INSERT_ORDER, params)
    for line in order.lines:
        line.order_id = order.id
        make_transient_to_detached(line)
    for item in order.payment_items:
        item.order_id = order.id
        make_transient_to_detached(item)
    make_transient_to_detached(order)
    session.add(order)


