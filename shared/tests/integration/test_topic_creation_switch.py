"""``CITY_KAFKA_CREATE_TOPICS=false``: the worker never creates a topic, even on a broker that
would let it; it waits, saying so once, until the operator has created them all. With the
default (``true``), the same call creates them: the negative control."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from city_shared.topics import TopicSpec, ensure_topics
from city_shared.worker import provision_topics

from .backbone_kit import wait_until

WAITING = "waiting for the operator to create this worker's topics"


async def _exists(bootstrap: str, name: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return name in await admin.list_topics()
    finally:
        await admin.close()


def _specs() -> list[TopicSpec]:
    tag = uuid.uuid4().hex[:10]
    return [TopicSpec(f"test.{tag}.events", partitions=1),
            TopicSpec(f"test.{tag}.deadletters", partitions=1)]


async def test_without_topic_creation_the_worker_waits_for_the_operator(
    kafka_bootstrap: str, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="city_shared.topics")
    specs = _specs()
    stop = asyncio.Event()
    waiting = asyncio.create_task(provision_topics(kafka_bootstrap, specs, stop, create=False))
    try:

        async def said_so() -> bool:
            return any(r.getMessage() == WAITING for r in caplog.records)

        await wait_until(said_so)
        assert not waiting.done()
        assert not await _exists(kafka_bootstrap, specs[0].name)

        await ensure_topics(kafka_bootstrap, specs[:1])  # the operator, one topic at a time
        await ensure_topics(kafka_bootstrap, specs[1:])

        assert await asyncio.wait_for(waiting, timeout=30) is True
    finally:
        stop.set()
        await asyncio.gather(waiting, return_exceptions=True)
    assert sum(r.getMessage() == WAITING for r in caplog.records) == 1


async def test_with_topic_creation_the_worker_creates_its_topics(kafka_bootstrap: str) -> None:
    specs = _specs()

    assert await provision_topics(kafka_bootstrap, specs, asyncio.Event()) is True

    assert await _exists(kafka_bootstrap, specs[0].name)
    assert await _exists(kafka_bootstrap, specs[1].name)
