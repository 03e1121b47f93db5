"""The payment worker: relays the outbox (``payment.payments``) and runs the consumers."""

from city_shared.worker import main_loop
from payment_service.settings import PaymentSettings
from payment_service.subscriptions import SUBSCRIPTIONS
from payment_service.topics import COMMAND_TOPICS, OWNED_TOPICS


def main() -> None:
    """Entry point of ``payment-worker``."""
    main_loop(PaymentSettings(), topics=OWNED_TOPICS, subscriptions=SUBSCRIPTIONS,
              owned_topics=COMMAND_TOPICS)
