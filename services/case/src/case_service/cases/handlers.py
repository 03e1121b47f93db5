"""Inbound events of the cases slice (payment outcomes); filled in by the slice."""

from __future__ import annotations

from case_service.settings import CaseSettings
from city_shared.consumer import Subscription


def build_case_subscriptions(settings: CaseSettings) -> tuple[Subscription, ...]:
    """The payment outcomes a case waits for."""
    return ()
