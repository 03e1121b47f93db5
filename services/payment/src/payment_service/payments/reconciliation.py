"""The worker's reconciliation job: a payment that waits for its provider's outcome longer than
a threshold is asked about at its provider, and a final outcome found there is applied through
the webhook's own path (``outcomes.apply_notification``). A lost or late webhook then only
delays the outcome; a webhook arriving after the reconciliation changes nothing, and neither
does one that came first.

Provider-agnostic: it needs only :meth:`PaymentProvider.fetch_status`. Each round claims a batch
(``FOR UPDATE SKIP LOCKED``, stamping ``provider_checked_at``, one unit of work), so two
workers never ask about the same payment in one period; the providers are asked with no
transaction open; each outcome is applied in its own unit of work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from city_shared.unit_of_work import unit_of_work
from payment_service.payments import repository, service
from payment_service.payments.outcomes import apply_notification
from payment_service.providers.registry import Providers

__all__ = ["reconcile_waiting", "run_reconciliation"]

log = logging.getLogger(__name__)


async def reconcile_waiting(
    sessions: async_sessionmaker[AsyncSession], providers: Providers, *, after: timedelta,
    now: datetime | None = None, batch_size: int = 100,
) -> int:
    """Ask the providers about up to ``batch_size`` open payments that have waited ``after``
    (since their last change or last question) at ``now`` (default: the current time); returns
    how many outcomes changed a payment. A provider that cannot answer is logged; the payment is
    asked again after another ``after``."""
    now = now or service.now_utc()
    async with unit_of_work(sessions) as session:
        waiting = await repository.lock_waiting(session, now - after, batch_size)
        for payment in waiting:
            payment.provider_checked_at = now
    applied = 0
    for payment in waiting:
        try:
            outcome = await providers.get(payment.provider).fetch_status(payment)
        except Exception as exc:
            log.warning("provider status query failed; asked again later",
                        extra={"payment_id": str(payment.id), "provider": payment.provider,
                               "error": type(exc).__name__})
            continue
        if outcome is None:
            continue
        async with unit_of_work(sessions) as session:
            result = await apply_notification(session, outcome)
        if result in ("processed", "late_success"):
            applied += 1
            log.info("payment outcome reconciled",
                     extra={"payment_id": str(payment.id), "outcome": outcome.kind})
    return applied


async def run_reconciliation(
    sessions: async_sessionmaker[AsyncSession], providers: Providers, stop: asyncio.Event, *,
    after: timedelta, interval: float,
) -> None:
    """Run :func:`reconcile_waiting` every ``interval`` seconds until ``stop`` is set. A failed
    round (e.g. the database briefly away) is logged and tried again next round."""
    while not stop.is_set():
        try:
            await reconcile_waiting(sessions, providers, after=after)
        except Exception as exc:
            log.error("reconciliation round failed", extra={"error": type(exc).__name__},
                      exc_info=exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
