"""(topic, event type) -> handler: the ticketing worker's only wiring; empty until its domain."""

from city_shared.consumer import Subscription

SUBSCRIPTIONS: tuple[Subscription, ...] = ()
