"""(topic, event type) -> handler: the notification worker's only wiring.

Citizen-facing events of other services go through the rules (see
:mod:`notification_service.deliveries.handlers`); to let a new event type reach people, add it
to :data:`CITIZEN_EVENTS` and create a rule for it.
"""

from __future__ import annotations

from typing import Final

from city_shared.consumer import Subscription
from notification_service.contacts.handlers import (
    ACCOUNT_ERASED,
    ACCOUNT_REGISTERED,
    ACCOUNT_UPDATED,
    IDENTITY_ACCOUNTS_TOPIC,
    on_account_changed,
)
from notification_service.deliveries.handlers import (
    NOTIFICATION_REQUEST,
    citizen_event_handler,
    notification_request_handler,
)
from notification_service.deliveries.service import MessageConfig
from notification_service.erasure import on_account_erased
from notification_service.settings import NotificationSettings
from notification_service.topics import REQUESTS

__all__ = ["CITIZEN_EVENTS", "build_subscriptions"]

# Other services own these topics; services never import each other, so names are repeated.
TICKETING_ORDERS: Final = "ticketing.orders"

#: Events that may reach a citizen through a rule: (topic, event type).
CITIZEN_EVENTS: Final[tuple[tuple[str, str], ...]] = (
    (TICKETING_ORDERS, "city.ticketing.order.confirmed.v1"),
    (TICKETING_ORDERS, "city.ticketing.order.cancelled.v1"),
    (TICKETING_ORDERS, "city.ticketing.order.expired.v1"),
    (TICKETING_ORDERS, "city.ticketing.order.refunded.v1"),
)


def build_subscriptions(settings: NotificationSettings) -> tuple[Subscription, ...]:
    """The notification worker's subscriptions: citizen events, the request command, and
    identity's account events (contact directory, erasure)."""
    config = MessageConfig(default_locale=settings.default_locale)
    on_citizen_event = citizen_event_handler(config)
    return (
        *(Subscription(topic, event_type, on_citizen_event)
          for topic, event_type in CITIZEN_EVENTS),
        Subscription(REQUESTS, NOTIFICATION_REQUEST, notification_request_handler(config)),
        Subscription(IDENTITY_ACCOUNTS_TOPIC, ACCOUNT_REGISTERED, on_account_changed),
        Subscription(IDENTITY_ACCOUNTS_TOPIC, ACCOUNT_UPDATED, on_account_changed),
        Subscription(IDENTITY_ACCOUNTS_TOPIC, ACCOUNT_ERASED, on_account_erased),
    )
