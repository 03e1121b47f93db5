"""Use cases of orders: place (capacity held atomically, payment requested), read, list, and the
status changes the payment saga, the hold expiry and a citizen's cancellation
(:mod:`.cancellation`) make. May flush, never commits: the order records its events and
commands, the caller's unit of work writes them to the outbox and commits (ADR 0011).

Every status change of an existing order happens with the order's row locked (the caller
locks it: :mod:`ticketing_service.orders.repository`), goes through the state machine of
:class:`~ticketing_service.orders.models.Order` and moves the order's places between the
counters of :mod:`ticketing_service.capacity` in the same transaction, so an order holds its
places exactly while ``awaiting_payment`` and has them sold exactly while ``confirmed`` or
``cancellation_requested``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.auth import Principal
from city_shared.envelope import Event
from city_shared.journey import capture
from city_shared.pagination import Cursor, next_page
from city_shared.unit_of_work import write_recorded_events
from ticketing_service import capacity
from ticketing_service.access import WRITE_SCOPE, OrderVisibility
from ticketing_service.capacity import Places, Shortage
from ticketing_service.orders import events, repository
from ticketing_service.orders.catalogue import Catalogue, SaleOffering, SaleSlot, SaleType
from ticketing_service.orders.errors import (
    AccountRequired,
    AccountTicketLimit,
    MixedCurrencies,
    NotABuyer,
    NotOnSale,
    OrderNotFound,
    SalesClosed,
    SlotNotAllowed,
    SlotRequired,
    SoldOut,
    TooManyOpenOrders,
    TooManyTickets,
    UnknownSlot,
    UnknownTicketType,
)
from ticketing_service.orders.models import Order, OrderLine, OrderPaymentItem, placed_by_of
from ticketing_service.orders.payments import shorten
from ticketing_service.orders.schemas import OrderCreate, OrderList, OrderRead, OrderTicket
from ticketing_service.orders.sold_out import SoldOutSlots
from ticketing_service.settings import TicketingSettings
from ticketing_service.tickets import service as tickets
from ticketing_service.tickets.schemas import IssuedTicket

__all__ = [
    "buyer_of",
    "close_unpaid_order",
    "confirm_order",
    "finish_cancellation",
    "list_orders",
    "order_view",
    "place_order",
    "read_order",
]

TICKETS_SHOWN: Final = 200


def buyer_of(principal: Principal, data: OrderCreate) -> uuid.UUID:
    """The account an order of ``principal`` is for: a citizen buys for themselves, a machine
    client with ``ticketing:write`` for the citizen in ``data.account_id``. Staff do not place
    orders (a cashier sale would need its own payment path).

    :raises NotABuyer: (403) staff, a client without the scope, or a citizen naming another.
    :raises AccountRequired: (422) a client that names no citizen.
    """
    if principal.kind == "citizen":
        try:
            me = uuid.UUID(principal.sub)
        except ValueError:
            raise NotABuyer("This account cannot place orders.") from None
        if data.account_id not in (None, me):
            raise NotABuyer("Citizens place orders for themselves only.")
        return me
    if principal.kind == "client":
        if not principal.has_scope(WRITE_SCOPE):
            raise NotABuyer(f"The access token lacks the scope '{WRITE_SCOPE}'.",
                            extra={"required_scope": WRITE_SCOPE})
        if data.account_id is None:
            raise AccountRequired("Name the citizen the order is for in 'account_id'.")
        return data.account_id
    raise NotABuyer("Orders are placed by citizens, or by machine clients for a citizen.")


def _line_description(offering: SaleOffering, ticket_type: SaleType,
                      slot: SaleSlot | None) -> str:
    text = f"{offering.name}, {ticket_type.name}"
    if slot is not None:
        text += f", {slot.starts_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return shorten(text)


def _payment_items(order: Order, types: dict[uuid.UUID, SaleType]) -> list[OrderPaymentItem]:
    """The order's total per (department, cost centre); a combo's price is split into its
    components' shares (all of it to the combo's owner if the shares do not add up)."""
    amounts: dict[tuple[str, str], int] = {}
    names: dict[tuple[str, str], list[str]] = {}

    def book(department: str, cost_centre: str, amount: int, name: str) -> None:
        key = (department, cost_centre)
        amounts[key] = amounts.get(key, 0) + amount
        names.setdefault(key, [])
        if name not in names[key]:
            names[key].append(name)

    for line in order.lines:
        ticket_type = types[line.ticket_type_id]
        name = ticket_type.offering.name
        components = ticket_type.components
        if components and sum(c.share for c in components) == line.unit_price:
            for component in components:
                book(component.department, component.cost_centre,
                     component.share * line.quantity, name)
        else:
            book(line.department, line.cost_centre, line.amount, name)
    return [
        OrderPaymentItem(position=i, department=department, cost_centre=cost_centre,
                         description=shorten(", ".join(names[(department, cost_centre)])),
                         amount=amount)
        for i, ((department, cost_centre), amount) in enumerate(
            (key, value) for key, value in amounts.items() if value > 0)
    ]


async def _priced_lines(session: AsyncSession, tenant: str, data: OrderCreate,
                        now: datetime) -> tuple[list[OrderLine], Catalogue]:
    """The order lines of ``data`` at today's prices, after every sales rule is checked."""
    catalogue = await repository.catalogue_of(
        session, tenant, ((line.ticket_type_id, line.slot_id) for line in data.lines))
    types, slots = catalogue.types, catalogue.slots
    per_offering: dict[uuid.UUID, int] = {}
    lines: list[OrderLine] = []
    for i, wanted in enumerate(data.lines):
        ticket_type = types.get(wanted.ticket_type_id)
        if ticket_type is None:
            raise UnknownTicketType(i, "ticket_type_id", "No such ticket type.")
        offering = ticket_type.offering
        if not ticket_type.active or not offering.on_sale(now):
            raise NotOnSale(ticket_type.id)
        slot: SaleSlot | None = None
        if offering.kind == "timed":
            if wanted.slot_id is None:
                raise SlotRequired(i, "slot_id", "Tickets of a timed offering need a slot.")
            slot = slots.get(wanted.slot_id)
            if slot is None or slot.offering_id != offering.id:
                raise UnknownSlot(i, "slot_id", "No such slot of this ticket type's offering.")
            closes = slot.starts_at - timedelta(minutes=offering.sales_close_minutes_before)
            if slot.status != "open" or now >= closes:
                raise SalesClosed(slot.id, closes)
        elif wanted.slot_id is not None:
            raise SlotNotAllowed(i, "slot_id", "Passes and combos are not sold per slot.")
        per_offering[offering.id] = per_offering.get(offering.id, 0) + wanted.quantity
        if per_offering[offering.id] > offering.max_tickets_per_order:
            raise TooManyTickets(i, "quantity", "More tickets than one order may hold.",
                                 extra={"max_tickets_per_order": offering.max_tickets_per_order})
        lines.append(OrderLine(
            id=uuid.uuid4(), position=i, tenant=tenant, department=offering.department,
            cost_centre=offering.cost_centre, offering_id=offering.id,
            ticket_type_id=ticket_type.id, slot_id=slot.id if slot else None,
            quota_id=ticket_type.quota_id if slot else None, quantity=wanted.quantity,
            places=ticket_type.places, unit_price=ticket_type.price,
            amount=ticket_type.price * wanted.quantity,
            description=_line_description(offering, ticket_type, slot)))
    if len({types[line.ticket_type_id].offering.currency for line in lines}) > 1:
        raise MixedCurrencies("All tickets of one order must be priced in one currency.")
    return lines, catalogue


async def _check_account_limits(session: AsyncSession, tenant: str, account_id: uuid.UUID,
                                lines: Sequence[OrderLine],
                                types: dict[uuid.UUID, SaleType]) -> None:
    """Refuse a basket that would take the account past an offering's limits against
    hoarding. Takes the account's lock first (held until commit), so concurrent orders of one
    account are checked one after the other.

    :raises TooManyOpenOrders, AccountTicketLimit: (409)
    """
    await repository.lock_account(session, tenant, account_id)
    offerings = {line.offering_id: types[line.ticket_type_id].offering for line in lines}
    wanted: dict[uuid.UUID, int] = {}
    limits: dict[uuid.UUID, int] = {}
    for line in lines:
        if line.slot_id is not None:
            wanted[line.slot_id] = wanted.get(line.slot_id, 0) + line.quantity
            limits[line.slot_id] = offerings[line.offering_id].max_tickets_per_account
    open_orders, held = await repository.account_holdings(
        session, tenant, account_id, offering_ids=offerings, slot_ids=wanted)
    for offering_id, offering in offerings.items():
        if open_orders.get(offering_id, 0) >= offering.max_open_orders_per_account:
            raise TooManyOpenOrders(offering_id, offering.max_open_orders_per_account)
    for slot_id, quantity in wanted.items():
        if held.get(slot_id, 0) + quantity > limits[slot_id]:
            raise AccountTicketLimit(slot_id, limits[slot_id], held.get(slot_id, 0))


def _sold_out(shortage: Shortage, lines: Sequence[OrderLine], tenant: str,
              sold_out: SoldOutSlots | None) -> SoldOut:
    """The refusal of ``shortage``; a slot with no place left at all is remembered in
    ``sold_out`` (a quota used up is not: the slot may still sell other ticket types)."""
    affected = [line for line in lines if line.slot_id == shortage.slot_id
                and (shortage.quota_id is None or line.quota_id == shortage.quota_id)]
    if sold_out is not None and shortage.quota_id is None and shortage.left == 0:
        sold_out.remember(tenant, shortage.slot_id,
                          {line.ticket_type_id: line.places for line in affected})
    return SoldOut(slot_id=shortage.slot_id,
                   ticket_type_ids=list(dict.fromkeys(line.ticket_type_id for line in affected)),
                   quota_id=shortage.quota_id, requested=shortage.requested,
                   left=shortage.left)


def _refuse_remembered(sold_out: SoldOutSlots, tenant: str, data: OrderCreate) -> None:
    """Refuse a basket wanting a slot ``sold_out`` remembers, before anything is read.

    ``places_requested`` counts the places per ticket of the ticket types the memory saw
    (one per ticket of a type it did not see). Before the basket is checked, so a basket with
    another mistake (e.g. a ticket type of another offering) is refused as ``sold_out`` too
    while the slot is remembered.

    :raises SoldOut: (409, ``places_left`` 0).
    """
    for slot_id in sorted({line.slot_id for line in data.lines if line.slot_id is not None}):
        places = sold_out.places_per_ticket(tenant, slot_id)
        if places is None:
            continue
        wanted = [line for line in data.lines if line.slot_id == slot_id]
        raise SoldOut(slot_id=slot_id,
                      ticket_type_ids=list(dict.fromkeys(w.ticket_type_id for w in wanted)),
                      quota_id=None, left=0,
                      requested=sum(w.quantity * places.get(w.ticket_type_id, 1)
                                    for w in wanted))


async def place_order(session: AsyncSession, data: OrderCreate, principal: Principal, *,
                      settings: TicketingSettings, now: datetime,
                      sold_out: SoldOutSlots | None = None) -> Order:
    """Place an order: check the basket, write the order, hold its places, and write
    ``order.placed`` plus the payment command to the outbox, all in the caller's transaction.
    A free order (total 0) is confirmed at once: places sold, tickets issued,
    ``order.confirmed``, no payment.

    A basket wanting a slot ``sold_out`` remembers (seen with no place left less than its TTL
    ago, see :mod:`.sold_out`) is refused before anything is read. A basket whose slots were
    already full when read is refused before anything is written or locked (cheap refusals
    during a sell-out). Then the account's limits per offering are checked under the
    account's lock (see :func:`_check_account_limits`). The order, its lines and payment
    items are written in one statement, its event and command to the outbox in the next; the
    places are held last (one guarded statement per slot and per quota, in a stable order), so
    a slot's row stays locked only for that statement and the commit: buyers of one slot queue
    on the row for as short as possible.

    Order mail: a citizen's order carries no contact address (``email`` in the body is
    ignored), so notification writes to the account's own address from identity and to the
    inbox; only a machine client ordering for a citizen names the address.

    :raises NotABuyer, AccountRequired: see :func:`buyer_of`.
    :raises UnknownTicketType, UnknownSlot, SlotRequired, SlotNotAllowed, TooManyTickets,
        MixedCurrencies: (422) the basket cannot be ordered as given.
    :raises NotOnSale, SalesClosed: (409) not sold now.
    :raises TooManyOpenOrders, AccountTicketLimit: (409) the account's limits per offering.
    :raises SoldOut: (409) not enough places; the caller must roll back (some may be held).
    """
    account_id = buyer_of(principal, data)
    tenant = principal.tenant
    if sold_out is not None:
        _refuse_remembered(sold_out, tenant, data)
    lines, catalogue = await _priced_lines(session, tenant, data, now)
    places = Places.of_lines(lines)
    shortage = capacity.seen_shortage(places, catalogue.slots)
    if shortage is not None:
        raise _sold_out(shortage, lines, tenant, sold_out)
    types = catalogue.types
    await _check_account_limits(session, tenant, account_id, lines, types)
    offerings = list({line.offering_id: types[line.ticket_type_id].offering
                      for line in lines}.values())
    order_id = uuid.uuid4()
    journey = capture()
    # Every column is set: the order is written by a statement, not by a flush.
    order = Order(
        id=order_id, tenant=tenant, account_id=account_id,
        contact_email=data.email if principal.kind == "client" else None,
        locale=data.locale, placed_by=placed_by_of(principal.kind, principal.sub),
        status="awaiting_payment", reason=None, total=sum(line.amount for line in lines),
        currency=offerings[0].currency, reference=f"ticketing/order/{order_id}",
        payment_id=None, checkout_url=None,
        return_url=data.return_url or settings.default_return_url,
        correlation_id=journey.correlation_id, traceparent=journey.traceparent,
        placed_at=now, updated_at=now, confirmed_at=None, closed_at=None,
        hold_expires_at=now + timedelta(minutes=min(o.hold_minutes for o in offerings)),
        refunded_amount=0, version=1, erased=False, lines=lines,
    )
    order.payment_items = _payment_items(order, types)
    await repository.add_new(session, order)
    summary = events.line_summaries(order, catalogue)
    order.place(lines=summary, payment_description="Tickets: " + ", ".join(
        sorted({o.name for o in offerings})))
    # Its event and command go to the outbox now, before the places are held: a slot's row
    # then stays locked only for the hold and the commit.
    await write_recorded_events(session)
    shortage = await capacity.hold(session, places)
    if shortage is not None:
        raise _sold_out(shortage, lines, tenant, sold_out)
    if order.total == 0:
        await confirm_order(session, order, settings=settings, now=now, lines=summary)
    return order


# -- the saga's status changes (the order's row is locked by the caller) ---------------------


async def _line_summaries(session: AsyncSession, order: Order) -> list[events.LineSummary]:
    """The order's lines as its events summarise them (their ticket types and slots read)."""
    catalogue = await repository.catalogue_of(
        session, order.tenant, ((line.ticket_type_id, line.slot_id) for line in order.lines))
    return events.line_summaries(order, catalogue)


async def confirm_order(session: AsyncSession, order: Order, *, settings: TicketingSettings,
                        now: datetime, caused_by: Event | None = None,
                        lines: list[events.LineSummary] | None = None) -> list[IssuedTicket]:
    """``awaiting_payment`` -> ``confirmed``: tickets issued, held places sold,
    ``order.confirmed`` with the tickets (see :meth:`Order.confirm`). ``lines``: the line
    summary if at hand (else read).

    :raises InvalidTransition: the order is not awaiting payment (nothing is kept: the
        caller's unit of work rolls back).
    """
    issued = await tickets.issue_tickets(session, order, settings=settings, now=now,
                                         caused_by=caused_by)
    if lines is None:
        lines = await _line_summaries(session, order)
    order.confirm(now, lines=lines, tickets=issued, caused_by=caused_by)
    await capacity.sell(session, Places.of_lines(order.lines))
    return issued


async def close_unpaid_order(
    session: AsyncSession, order: Order, status: Literal["cancelled", "expired"], reason: str,
    *, now: datetime, caused_by: Event | None = None,
) -> None:
    """``awaiting_payment`` -> ``cancelled`` / ``expired``: ``order.cancelled`` /
    ``order.expired`` (see :meth:`Order.close_unpaid`), held places released.

    :raises InvalidTransition: the order is not awaiting payment.
    """
    order.close_unpaid(status, reason, now, lines=await _line_summaries(session, order),
                       caused_by=caused_by)
    await capacity.release_held(session, Places.of_lines(order.lines))


async def finish_cancellation(session: AsyncSession, order: Order, refunded_amount: int, *,
                              now: datetime, caused_by: Event | None = None) -> None:
    """``cancellation_requested`` -> ``refunded``: ``order.refunded`` (see
    :meth:`Order.refund`), tickets voided, sold places released.

    :raises InvalidTransition: no cancellation is pending.
    """
    order.refund(refunded_amount, now, lines=await _line_summaries(session, order),
                 caused_by=caused_by)
    await tickets.void_tickets(session, order, reason="refunded", now=now, caused_by=caused_by)
    await capacity.release_sold(session, Places.of_lines(order.lines))


# -- reading ------------------------------------------------------------------------------------


async def _order_tickets(session: AsyncSession, v: OrderVisibility, order: Order,
                         settings: TicketingSettings) -> list[OrderTicket]:
    if order.status not in ("confirmed", "cancellation_requested", "refunded"):
        return []
    page = await tickets.list_tickets(session, v, settings, order_id=order.id,
                                      limit=TICKETS_SHOWN)
    shown = [OrderTicket(ticket_id=t.ticket_id, code=t.code, status=t.status,
                         department=t.department,
                         offering_name=t.offering_name, ticket_type_name=t.ticket_type_name,
                         starts_at=t.starts_at, valid_from=t.valid_from,
                         valid_until=t.valid_until, page_url=t.page_url)
             for t in page.items]
    return sorted(shown, key=lambda t: (t.valid_from, t.code or "", str(t.ticket_id)))


def _may_see_checkout(v: OrderVisibility, order: Order) -> bool:
    return v.may_read_credentials(line.department for line in order.lines)


async def order_view(session: AsyncSession, v: OrderVisibility, order: Order,
                     settings: TicketingSettings) -> OrderRead:
    """``order`` (loaded, visible to ``v``) as ``v`` may see it, with its tickets once
    confirmed (read only then)."""
    return OrderRead.of(order, departments=v.departments,
                        tickets=await _order_tickets(session, v, order, settings),
                        checkout=_may_see_checkout(v, order))


async def read_order(session: AsyncSession, v: OrderVisibility, order_id: uuid.UUID,
                     settings: TicketingSettings) -> OrderRead:
    """The order as ``v`` may see it, with its tickets once confirmed.

    :raises OrderNotFound: (404) also when it exists but is not the caller's to see.
    """
    order = await repository.get_visible(session, v, order_id)
    if order is None:
        raise OrderNotFound()
    return await order_view(session, v, order, settings)


async def list_orders(session: AsyncSession, v: OrderVisibility, *, status: str | None,
                      cursor: str | None, limit: int) -> OrderList:
    """Visible orders, newest first, a page of ``limit`` (tickets: see the single order).

    :raises InvalidCursor: (422) ``cursor`` is not one this API handed out.
    """
    rows = await repository.list_page(session, v, status=status, after=Cursor.parse(cursor),
                                      limit=limit)
    page, next_cursor = next_page(rows, limit, lambda o: Cursor(o.placed_at, o.id))
    return OrderList(items=[OrderRead.of(o, departments=v.departments,
                                         checkout=_may_see_checkout(v, o)) for o in page],
                     next_cursor=next_cursor)
