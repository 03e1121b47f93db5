"""``account.erased``: pseudonymise the person's orders and tickets (filled in later)."""

from city_shared.consumer import Subscription

SUBSCRIPTIONS: tuple[Subscription, ...] = ()
