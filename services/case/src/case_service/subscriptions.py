"""(topic, event type) -> handler: the case worker's only wiring."""

from __future__ import annotations

from case_service.cases.handlers import build_case_subscriptions
from case_service.erasure import build_erasure_subscriptions
from case_service.settings import CaseSettings
from city_shared.consumer import Subscription

__all__ = ["build_subscriptions"]


def build_subscriptions(settings: CaseSettings) -> tuple[Subscription, ...]:
    """Payment outcomes (cases slice) and account erasures."""
    return (*build_case_subscriptions(settings), *build_erasure_subscriptions(settings))
