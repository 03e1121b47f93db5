"""The active signing key's age as the operator's alert sees it (``city_signing_key_activated_
timestamp_seconds``): the time the active key started signing, moving forward when a platform
admin rotates, so that ``SigningKeyRotationDue`` stops firing once the rotation is done."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY

from city_shared.db import create_session_factory
from identity_service.keys.age import KEY_AGE_JOB, refresh_key_age, watch_active_key


def exported() -> float | None:
    return REGISTRY.get_sample_value("city_signing_key_activated_timestamp_seconds")


async def test_the_gauge_follows_the_active_key_across_a_rotation(oauth) -> None:  # type: ignore[no-untyped-def]
    sessions = create_session_factory(oauth.engine)
    first = await refresh_key_age(sessions)
    assert first is not None
    assert exported() == first

    oauth.clock.advance(3600)
    admin = await oauth.mint("platform-admin", admin="platform")
    assert (await oauth.client.post("/admin/keys/rotate", headers=admin)).status_code == 200
    second = await refresh_key_age(sessions)

    assert second is not None
    assert exported() == second
    assert 3590 <= second - first <= 3700  # the rotated key started signing an hour later


async def test_the_watcher_reports_a_heartbeat_after_a_good_round(oauth) -> None:  # type: ignore[no-untyped-def]
    stop = asyncio.Event()
    task = asyncio.create_task(
        watch_active_key(create_session_factory(oauth.engine), stop, interval=60))
    try:
        for _ in range(100):
            if REGISTRY.get_sample_value("city_job_last_success_timestamp_seconds",
                                         {"task": KEY_AGE_JOB}) is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task

    assert REGISTRY.get_sample_value("city_job_interval_seconds", {"task": KEY_AGE_JOB}) == 60
    assert REGISTRY.get_sample_value("city_job_last_success_timestamp_seconds",
                                     {"task": KEY_AGE_JOB}) is not None
