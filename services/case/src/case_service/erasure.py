"""``account.erased``: drafts deleted; submitted cases keep their file (until its retention
ends) without the link to the account. Filled in by the erasure slice."""

from city_shared.consumer import Subscription

SUBSCRIPTIONS: tuple[Subscription, ...] = ()
