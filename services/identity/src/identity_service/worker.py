"""The identity worker: relays the outbox of ``identity.accounts``; consumes nothing yet."""

from city_shared.worker import main_loop
from identity_service.settings import IdentitySettings
from identity_service.subscriptions import SUBSCRIPTIONS
from identity_service.topics import OWNED_TOPICS


def main() -> None:
    """Entry point of ``identity-worker``."""
    main_loop(IdentitySettings(), topics=OWNED_TOPICS, subscriptions=SUBSCRIPTIONS)
