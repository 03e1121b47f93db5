"""(topic, event type) -> handler: the payment worker's only wiring.

Handlers that need the providers or settings are built here, once per worker process.
"""

from __future__ import annotations

from city_shared.consumer import Subscription
from payment_service.payments.handlers import (
    ACCOUNT_ERASED,
    IDENTITY_ACCOUNTS_TOPIC,
    PAYMENT_REQUEST,
    on_account_erased,
    payment_requested_handler,
)
from payment_service.payments.service import PaymentConfig
from payment_service.providers.registry import Providers
from payment_service.refunds.handlers import REFUND_REQUEST, on_refund_requested
from payment_service.settings import PaymentSettings
from payment_service.topics import REQUESTS

__all__ = ["build_subscriptions"]


def build_subscriptions(
    settings: PaymentSettings, providers: Providers
) -> tuple[Subscription, ...]:
    """The payment worker's subscriptions: payment and refund requests (commands) and account
    erasures."""
    config = PaymentConfig.from_settings(settings)
    return (
        Subscription(REQUESTS, PAYMENT_REQUEST,
                     payment_requested_handler(providers.default, config)),
        Subscription(REQUESTS, REFUND_REQUEST, on_refund_requested),
        Subscription(IDENTITY_ACCOUNTS_TOPIC, ACCOUNT_ERASED, on_account_erased),
    )
