"""(topic, event type) -> handler: the notification worker's only wiring.

Every event on the other services' topics (:data:`CITIZEN_TOPICS`) goes through the rules (see
:mod:`notification_service.deliveries.handlers`): a rule, kept as data, decides whether and how
an event type reaches people, so letting a new event type reach citizens needs a rule, not a
release. Events without a matching rule or without a ``recipient`` change nothing; the worker
passes a :class:`~notification_service.rules.view.RuleView` so that an event of a type no rule
names is skipped in memory, without a transaction (see that module for how fresh it is).
"""

from __future__ import annotations

from typing import Final

from city_shared.consumer import ANY_TYPE, Subscription
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
from notification_service.rules.view import RuleView
from notification_service.settings import NotificationSettings
from notification_service.topics import REQUESTS

__all__ = ["CITIZEN_TOPICS", "build_subscriptions"]

#: The topics whose events may reach a citizen through a rule. Other services own them;
#: services never import each other, so the names are repeated here.
CITIZEN_TOPICS: Final[tuple[str, ...]] = (
    "ticketing.orders", "ticketing.tickets", "payment.payments", "case.cases",
)


def build_subscriptions(
    settings: NotificationSettings, rules: RuleView | None = None
) -> tuple[Subscription, ...]:
    """The notification worker's subscriptions: citizen events, the request command, and
    identity's account events (contact directory, erasure). With ``rules``, a citizen event
    whose type no rule of its tenant names is skipped before any transaction."""
    config = MessageConfig(default_locale=settings.default_locale)
    on_citizen_event = citizen_event_handler(config)
    accepts = rules.accepts if rules is not None else None
    return (
        *(Subscription(topic, ANY_TYPE, on_citizen_event, accepts=accepts)
          for topic in CITIZEN_TOPICS),
        Subscription(REQUESTS, NOTIFICATION_REQUEST, notification_request_handler(config)),
        Subscription(IDENTITY_ACCOUNTS_TOPIC, ACCOUNT_REGISTERED, on_account_changed),
        Subscription(IDENTITY_ACCOUNTS_TOPIC, ACCOUNT_UPDATED, on_account_changed),
        Subscription(IDENTITY_ACCOUNTS_TOPIC, ACCOUNT_ERASED, on_account_erased),
    )
