"""The notification worker: relays the outbox and runs the consumers."""

from city_shared.worker import main_loop
from notification_service.settings import NotificationSettings
from notification_service.subscriptions import SUBSCRIPTIONS
from notification_service.topics import COMMAND_TOPICS, OWNED_TOPICS


def main() -> None:
    """Entry point of ``notification-worker``."""
    main_loop(NotificationSettings(), topics=OWNED_TOPICS, subscriptions=SUBSCRIPTIONS,
              owned_topics=COMMAND_TOPICS)
