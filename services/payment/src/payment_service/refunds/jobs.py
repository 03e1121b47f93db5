"""Background work of the refunds slice, for the worker: hand refunds that are recorded but
not yet taken by their provider (a late success's automatic refund, or one whose provider call
failed) to the provider. Each refund is its own unit of work."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from city_shared.unit_of_work import unit_of_work
from payment_service.providers.registry import Providers
from payment_service.refunds import repository, service

__all__ = ["run_refund_submitter", "submit_open_refunds"]

log = logging.getLogger(__name__)


async def submit_open_refunds(
    session_factory: async_sessionmaker[AsyncSession], providers: Providers, *,
    limit: int = 100,
) -> int:
    """Submit up to ``limit`` open refunds, oldest first; returns how many the provider
    decided. A refund whose submission fails stays open for the next round (logged)."""
    async with unit_of_work(session_factory) as session:
        open_refunds = await repository.submittable(session, limit)
    decided = 0
    for _, refund_id in open_refunds:
        try:
            async with unit_of_work(session_factory) as session:
                refund = await service.submit_refund(session, refund_id, providers)
                finished = refund.finished
        except Exception as exc:
            log.warning("refund submission failed; retried next round",
                        extra={"refund_id": str(refund_id), "error": type(exc).__name__})
            continue
        decided += finished
    return decided


async def run_refund_submitter(
    session_factory: async_sessionmaker[AsyncSession], providers: Providers,
    stop: asyncio.Event, *, every: float = 10.0,
) -> None:
    """Call :func:`submit_open_refunds` every ``every`` seconds until ``stop`` is set."""
    while not stop.is_set():
        await submit_open_refunds(session_factory, providers)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
