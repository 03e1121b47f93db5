"""The ticketing worker: the shared backbone (topics, outbox relay, consumers of payment outcomes
and account erasures) plus the jobs that expire holds and count stalled orders. Runs until
SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio

from city_shared.db import create_engine, create_session_factory
from city_shared.sagas import watch_stalled_sagas
from city_shared.worker import run_process, run_worker
from ticketing_service.orders.expiry import run_hold_expiry
from ticketing_service.orders.stalls import stalled_orders
from ticketing_service.settings import TicketingSettings
from ticketing_service.subscriptions import build_subscriptions
from ticketing_service.topics import OWNED_TOPICS

__all__ = ["main", "run_ticketing_worker"]


async def run_ticketing_worker(settings: TicketingSettings, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set; a crashed task stops the others and is re-raised."""
    engine = create_engine(settings.database_url.get_secret_value(), pool_size=2)
    sessions = create_session_factory(engine)

    async def expire_holds(stop: asyncio.Event) -> None:
        await run_hold_expiry(sessions, settings, stop)

    async def count_stalled(stop: asyncio.Event) -> None:
        await watch_stalled_sagas(sessions, stalled_orders(settings), stop,
                                  service=settings.service_name,
                                  interval=settings.stall_check_interval_seconds)

    try:
        await run_worker(settings, topics=OWNED_TOPICS, subscriptions=build_subscriptions(settings),
                         jobs=(expire_holds, count_stalled), stop=stop)
    finally:
        await engine.dispose()


def main() -> None:
    """Entry point of ``ticketing-worker``."""
    settings = TicketingSettings()
    run_process(settings, lambda stop: run_ticketing_worker(settings, stop))
