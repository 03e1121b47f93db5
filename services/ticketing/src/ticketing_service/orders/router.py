"""The orders API: place an order, list and read orders, cancel one (citizen). Each route
parses, runs one use case and responds; the request's unit of work commits it together with
the ``Idempotency-Key`` record, or rolls it back when the route raises (a refused placement
keeps nothing held) (ADR 0011).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from city_shared.auth import CurrentPrincipal
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from city_shared.idempotency import IdempotencyKey
from city_shared.pagination import CursorQuery
from ticketing_service.access import OrderVisibility
from ticketing_service.dependencies import OrderVisibilityDep, SettingsDep, SoldOutDep
from ticketing_service.orders import cancellation, service
from ticketing_service.orders.models import OrderStatus
from ticketing_service.orders.schemas import OrderCreate, OrderList, OrderRead

__all__ = ["router"]

router = APIRouter(prefix="/orders", tags=["orders"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Place an order (capacity is held until it is paid or the hold runs out)",
    responses=problem_responses(400, 401, 403, 409, 422),
)
async def place_order(
    data: OrderCreate,
    response: Response,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    sold_out: SoldOutDep,
    _key: IdempotencyKey,
) -> OrderRead:
    """Citizens order for themselves; machine clients with ``ticketing:write`` for the citizen
    in ``account_id``; staff tokens are refused (403). ``Idempotency-Key`` required.

    201 ``awaiting_payment`` with ``hold_expires_at``: payment is requested and
    ``checkout_url`` appears on ``GET /orders/{id}`` once payment answered. A free order is
    ``confirmed`` at once. ``email`` counts for machine clients only: a citizen's order mail
    goes to the account's own address and inbox. 409 ``sold_out`` (with ``slot_id``,
    ``places_left``; nothing is held; a slot the API process saw with no place left less than
    a second ago is refused from memory, so a place freed meanwhile sells a second later),
    ``not_on_sale``, ``sales_closed``,
    ``account_ticket_limit`` (the account would hold more than the offering's
    ``max_tickets_per_account`` of a slot), ``too_many_open_orders`` (it has
    ``max_open_orders_per_account`` unpaid orders of the offering); 422
    ``unknown_ticket_type``, ``unknown_slot``, ``slot_required``, ``slot_not_allowed``,
    ``too_many_tickets``, ``mixed_currencies``, ``account_id_required``."""
    order = await service.place_order(session, data, principal, settings=settings,
                                      now=datetime.now(UTC), sold_out=sold_out)
    buyer = OrderVisibility(order.tenant, account_id=order.account_id)
    result = await service.order_view(session, buyer, order, settings)
    response.headers["Location"] = f"{settings.base_url}/orders/{order.id}"
    return result


@router.get(
    "",
    summary="List orders, newest first",
    responses=problem_responses(401, 403, 422),
)
async def list_orders(
    session: SessionDep,
    v: OrderVisibilityDep,
    status_: Annotated[OrderStatus | None, Query(alias="status")] = None,
    cursor: CursorQuery = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> OrderList:
    """Citizens see their own orders; staff orders with a line of their departments (only
    those lines, no contact data); tenant admins and clients with ``ticketing:read`` all of
    the tenant. 422 ``invalid_cursor``."""
    return await service.list_orders(session, v, status=status_, cursor=cursor, limit=limit)


@router.get(
    "/{order_id}",
    summary="One order, with its checkout page while unpaid and its tickets once confirmed",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_order(
    order_id: uuid.UUID, session: SessionDep, v: OrderVisibilityDep, settings: SettingsDep,
) -> OrderRead:
    """404 ``order_not_found`` also for an order the caller may not see."""
    return await service.read_order(session, v, order_id, settings)


@router.post(
    "/{order_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Cancel a confirmed order and get the money back (citizen)",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def cancel_order(
    order_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    _key: IdempotencyKey,
) -> OrderRead:
    """The citizen who bought the order; ``Idempotency-Key`` required. 202
    ``cancellation_requested``: the refund is requested from payment and the gates no longer
    admit the tickets (outcome ``cancelled``); when it succeeded the order is ``refunded`` and
    the tickets voided, if it fails the order is ``confirmed`` again and the tickets admit.
    409 ``cancellation_not_allowed`` (with ``deadline``), ``tickets_used`` (a ticket was used
    at a gate), ``invalid_transition``."""
    order = await cancellation.cancel_order(session, principal, order_id,
                                             now=datetime.now(UTC))
    owner = OrderVisibility(order.tenant, account_id=order.account_id)
    return await service.order_view(session, owner, order, settings)
