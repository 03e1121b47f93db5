"""Payments stalled in their saga, counted for the gauge ``city_stalled_sagas`` and the detail
of ``/readyz`` (see :mod:`city_shared.sagas`); nothing here changes a payment.

- ``payment_without_outcome``: still waiting for the provider's outcome (``created`` or
  ``started``) ``stalled_outcome_grace_seconds`` after its own expiry: the webhook never came
  and the expiry job is not closing it, so the paying service's journey waits forever.
- ``payment_outcome_not_applied``: the sandbox provider recorded the person's decision more than
  ``reconciliation_after_seconds`` plus the grace ago, yet the payment is still open: neither
  its webhook (e.g. a wrong ``sandbox_webhook_url``) nor the reconciliation job got through.

Each a ``COUNT`` over open payments (partial index ``ix_payments_open_expiry``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.sagas import StallCounter
from payment_service.payments.models import OPEN_STATUSES, Payment
from payment_service.providers.sandbox_notifications import SandboxNotification
from payment_service.settings import PaymentSettings

__all__ = ["NOT_APPLIED", "WITHOUT_OUTCOME", "stalled_payment_queries", "stalled_payments"]

WITHOUT_OUTCOME = "payment_without_outcome"
NOT_APPLIED = "payment_outcome_not_applied"


def stalled_payment_queries(settings: PaymentSettings, now: datetime) -> dict[str, Select[Any]]:
    """The ``COUNT`` of each kind at ``now``, with the threshold of ``settings``."""
    grace = timedelta(seconds=settings.stalled_outcome_grace_seconds)
    decided_before = now - grace - timedelta(seconds=settings.reconciliation_after_seconds)
    open_ = Payment.status.in_(sorted(OPEN_STATUSES))
    return {
        WITHOUT_OUTCOME: select(func.count()).select_from(Payment).where(
            open_, Payment.expires_at < now - grace),
        NOT_APPLIED: select(func.count()).select_from(Payment).join(
            SandboxNotification,
            SandboxNotification.provider_payment_id == Payment.provider_payment_id,
        ).where(open_, Payment.provider == "sandbox",
                SandboxNotification.decided_at < decided_before),
    }


def stalled_payments(settings: PaymentSettings) -> StallCounter:
    """The payment service's stall counter, with the threshold of ``settings``."""

    async def count(session: AsyncSession) -> Mapping[str, int]:
        queries = stalled_payment_queries(settings, datetime.now(UTC))
        return {kind: int(await session.scalar(query) or 0) for kind, query in queries.items()}

    return count
