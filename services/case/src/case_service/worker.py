"""The case worker: relays the outbox (``case.cases``) and runs the consumers."""

from case_service.settings import CaseSettings
from case_service.subscriptions import SUBSCRIPTIONS
from case_service.topics import OWNED_TOPICS
from city_shared.worker import main_loop


def main() -> None:
    """Entry point of ``case-worker``."""
    main_loop(CaseSettings(), topics=OWNED_TOPICS, subscriptions=SUBSCRIPTIONS)
