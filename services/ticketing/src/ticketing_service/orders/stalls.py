"""Orders stalled in the purchase saga, counted for the gauge ``city_stalled_sagas`` and the
detail of ``/readyz`` (see :mod:`city_shared.sagas`); nothing here changes an order.

- ``order_without_checkout``: unpaid and still without a checkout page
  ``stalled_checkout_seconds`` after it was placed: payment never created the payment (its
  worker is down or the request was lost), so the buyer cannot pay;
- ``order_past_hold``: unpaid and still open ``stalled_hold_grace_seconds`` after its hold ran
  out: the hold expiry job is not closing orders, so their places stay blocked.

Each kind is one ``COUNT`` on a partial index (``ix_orders_awaiting_checkout``,
``ix_orders_holds_due``) that holds only unpaid orders.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.sagas import StallCounter
from ticketing_service.orders.models import Order
from ticketing_service.settings import TicketingSettings

__all__ = ["PAST_HOLD", "WITHOUT_CHECKOUT", "stalled_order_queries", "stalled_orders"]

WITHOUT_CHECKOUT = "order_without_checkout"
PAST_HOLD = "order_past_hold"

_UNPAID = Order.status == "awaiting_payment"


def stalled_order_queries(settings: TicketingSettings, now: datetime) -> dict[str, Select[Any]]:
    """The ``COUNT`` of each kind at ``now``, with the thresholds of ``settings``."""
    checkout_after = timedelta(seconds=settings.stalled_checkout_seconds)
    hold_grace = timedelta(seconds=settings.stalled_hold_grace_seconds)
    count = select(func.count()).select_from(Order)
    return {
        WITHOUT_CHECKOUT: count.where(_UNPAID, Order.checkout_url.is_(None),
                                      Order.placed_at < now - checkout_after),
        PAST_HOLD: count.where(_UNPAID, Order.hold_expires_at < now - hold_grace),
    }


def stalled_orders(settings: TicketingSettings) -> StallCounter:
    """The ticketing service's stall counter, with the thresholds of ``settings``."""

    async def count(session: AsyncSession) -> Mapping[str, int]:
        queries = stalled_order_queries(settings, datetime.now(UTC))
        return {kind: int(await session.scalar(query) or 0) for kind, query in queries.items()}

    return count
