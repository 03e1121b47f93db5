"""The topics the ticketing service owns (provisioned by its worker)."""

from city_shared.topics import TopicSpec

ORDERS = "ticketing.orders"
TICKETS = "ticketing.tickets"

OWNED_TOPICS = (TopicSpec(ORDERS), TopicSpec(TICKETS))
