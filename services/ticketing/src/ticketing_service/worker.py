"""The ticketing worker: relays the outbox and runs the consumers."""

from city_shared.worker import main_loop
from ticketing_service.settings import TicketingSettings
from ticketing_service.subscriptions import SUBSCRIPTIONS
from ticketing_service.topics import OWNED_TOPICS


def main() -> None:
    """Entry point of ``ticketing-worker``."""
    main_loop(TicketingSettings(), topics=OWNED_TOPICS, subscriptions=SUBSCRIPTIONS)
