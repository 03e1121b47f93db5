"""The topics the payment service owns (provisioned by its worker)."""

from city_shared.topics import TopicSpec

PAYMENTS = "payment.payments"
REQUESTS = "payment.requests"

OWNED_TOPICS = (TopicSpec(PAYMENTS), TopicSpec(REQUESTS))
#: Command topics this service obeys: a command nobody here handles is dead-lettered.
COMMAND_TOPICS: tuple[str, ...] = (REQUESTS,)
