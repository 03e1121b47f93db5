"""The identity worker: relays the outbox of ``identity.accounts``, consumes nothing yet, and
exports the active signing key's age (:mod:`identity_service.keys.age`). Runs until
SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio

from city_shared.db import create_engine, create_session_factory
from city_shared.worker import run_process, run_worker
from identity_service.keys.age import watch_active_key
from identity_service.settings import IdentitySettings
from identity_service.subscriptions import SUBSCRIPTIONS
from identity_service.topics import OWNED_TOPICS

__all__ = ["KEY_AGE_INTERVAL_SECONDS", "main", "run_identity_worker"]

#: How often the key's age is read: rotation is due after weeks, a few minutes late is nothing.
KEY_AGE_INTERVAL_SECONDS = 300.0


async def run_identity_worker(settings: IdentitySettings, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set; a crashed task stops the others and is re-raised."""
    engine = create_engine(settings.database_url.get_secret_value(), pool_size=1)
    sessions = create_session_factory(engine)

    async def watch_signing_key(stop: asyncio.Event) -> None:
        await watch_active_key(sessions, stop, interval=KEY_AGE_INTERVAL_SECONDS)

    try:
        await run_worker(settings, topics=OWNED_TOPICS, subscriptions=SUBSCRIPTIONS,
                         jobs=(watch_signing_key,), stop=stop)
    finally:
        await engine.dispose()


def main() -> None:
    """Entry point of ``identity-worker``."""
    settings = IdentitySettings()
    run_process(settings, lambda stop: run_identity_worker(settings, stop))
