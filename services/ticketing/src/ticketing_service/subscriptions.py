"""(topic, event type) -> handler: the ticketing worker's only wiring."""

from __future__ import annotations

from city_shared.consumer import Subscription
from ticketing_service import erasure
from ticketing_service.orders.handlers import build_order_subscriptions
from ticketing_service.settings import TicketingSettings

__all__ = ["build_subscriptions"]


def build_subscriptions(settings: TicketingSettings) -> tuple[Subscription, ...]:
    """Payment outcomes (orders slice) and account erasures."""
    return (*build_order_subscriptions(settings), *erasure.SUBSCRIPTIONS)
