"""Prometheus collectors of the deliveries slice. Labels are the tenant's slug, the channel and
the reason code: never ids, addresses or texts."""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter

from notification_service.types import CHANNELS

__all__ = ["DELIVERIES_FAILED", "count_failed"]

DELIVERIES_FAILED: Final = Counter(
    "city_notification_deliveries_failed_total",
    "Deliveries that will not be delivered (permanent_failure), by tenant, channel and reason "
    "(e.g. template_missing, template_broken, missing_personalisation, smtp_550).",
    ["tenant", "channel", "reason"],
)


def count_failed(tenant: str, channel: str, reason: str | None) -> None:
    """Count one failed delivery; an unknown channel (a broken rule row) counts as
    ``unknown``."""
    DELIVERIES_FAILED.labels(tenant=tenant, channel=channel if channel in CHANNELS else "unknown",
                             reason=reason or "unknown").inc()
