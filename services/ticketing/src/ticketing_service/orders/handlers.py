"""Inbound payment events of the orders slice (filled in by the orders slice)."""

from city_shared.consumer import Subscription
from ticketing_service.settings import TicketingSettings


def build_order_subscriptions(settings: TicketingSettings) -> tuple[Subscription, ...]:
    """The orders slice's subscriptions."""
    return ()
