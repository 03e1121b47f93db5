"""The case worker: relays the outbox (``case.cases``, ``payment.requests`` commands), consumes
payment outcomes and account erasures, runs the periodic jobs of :mod:`case_service.jobs` and
counts stalled payment sagas for the gauge ``city_stalled_sagas``. Runs until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
from functools import partial

from case_service import models  # noqa: F401  (every table known before the first flush)
from case_service.cases.stalls import stalled_cases
from case_service.jobs import JOBS
from case_service.settings import CaseSettings
from case_service.subscriptions import build_subscriptions
from case_service.topics import OWNED_TOPICS
from city_shared.db import create_engine, create_session_factory
from city_shared.sagas import watch_stalled_sagas
from city_shared.worker import run_process, run_worker

__all__ = ["main", "run_case_worker"]


async def run_case_worker(settings: CaseSettings, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set; a crashed task stops the others and is re-raised."""
    engine = create_engine(settings.database_url.get_secret_value(), pool_size=2)
    sessions = create_session_factory(engine)
    jobs = tuple(partial(job, sessions, settings) for job in JOBS)

    async def count_stalled(stop: asyncio.Event) -> None:
        await watch_stalled_sagas(sessions, stalled_cases(settings), stop,
                                  service=settings.service_name,
                                  interval=settings.stall_check_interval_seconds)

    try:
        await run_worker(settings, topics=OWNED_TOPICS, subscriptions=build_subscriptions(settings),
                         jobs=(*jobs, count_stalled), stop=stop)
    finally:
        await engine.dispose()


def main() -> None:
    """Entry point of ``case-worker``."""
    settings = CaseSettings()
    run_process(settings, lambda stop: run_case_worker(settings, stop))
