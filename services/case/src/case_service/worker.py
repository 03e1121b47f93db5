"""The case worker: relays the outbox (``case.cases``, ``payment.requests`` commands), consumes
payment outcomes and account erasures, and runs the periodic jobs of :mod:`case_service.jobs`.
Runs until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
from functools import partial

from case_service.jobs import JOBS
from case_service.settings import CaseSettings
from case_service.subscriptions import build_subscriptions
from case_service.topics import OWNED_TOPICS
from city_shared.db import create_engine, create_session_factory
from city_shared.worker import run_process, run_worker

__all__ = ["main", "run_case_worker"]


async def run_case_worker(settings: CaseSettings, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set; a crashed task stops the others and is re-raised."""
    engine = create_engine(settings.database_url.get_secret_value(), pool_size=2)
    sessions = create_session_factory(engine)
    jobs = tuple(partial(job, sessions, settings) for job in JOBS)
    try:
        await run_worker(settings, topics=OWNED_TOPICS, subscriptions=build_subscriptions(settings),
                         jobs=jobs, stop=stop)
    finally:
        await engine.dispose()


def main() -> None:
    """Entry point of ``case-worker``."""
    settings = CaseSettings()
    run_process(settings, lambda stop: run_case_worker(settings, stop))
