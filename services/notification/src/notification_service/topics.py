"""The topics the notification service owns (provisioned by its worker)."""

from city_shared.topics import TopicSpec

DELIVERIES = "notification.deliveries"
REQUESTS = "notification.requests"

OWNED_TOPICS = (TopicSpec(DELIVERIES), TopicSpec(REQUESTS))
#: Command topics this service obeys: a command nobody here handles is dead-lettered.
COMMAND_TOPICS: tuple[str, ...] = (REQUESTS,)
