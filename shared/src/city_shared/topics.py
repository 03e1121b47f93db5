"""Topic provisioning through the Kafka admin client, run by each worker at startup.

Each service provisions the topics it owns (the ones it publishes on, its command topics and its
dead-letter topic). Creating a topic that exists is a no-op; partitions are never reduced. Where
an operator creates the topics (``CITY_KAFKA_CREATE_TOPICS=false``), the worker only waits for
them with :func:`wait_for_topics`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from city_shared.kafka_client import Brokers, client_options

DAY_MS = 24 * 3600 * 1000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopicSpec:
    """A topic and its settings; ``retention_ms`` of -1 keeps records forever."""

    name: str
    partitions: int = 3
    replication: int = 1
    retention_ms: int = 7 * DAY_MS

    def to_new_topic(self) -> NewTopic:
        """The admin client's request object."""
        return NewTopic(
            name=self.name,
            num_partitions=self.partitions,
            replication_factor=self.replication,
            topic_configs={"retention.ms": str(self.retention_ms)},
        )


async def ensure_topics(
    kafka: Brokers, specs: Iterable[TopicSpec], *, timeout: float = 60.0
) -> list[str]:
    """Create the missing topics of ``specs``; returns the names that were created.

    Retries while the broker is not reachable yet, up to ``timeout`` seconds.
    """
    wanted = {spec.name: spec for spec in specs}
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        admin = AIOKafkaAdminClient(**client_options(kafka))
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [spec.to_new_topic() for name, spec in wanted.items() if name not in existing]
            if missing:
                # another worker may have created it meanwhile
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(missing)
            return [topic.name for topic in missing]
        except KafkaConnectionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(1.0)
        finally:
            await admin.close()


async def wait_for_topics(
    kafka: Brokers, names: Iterable[str], stop: asyncio.Event, *,
    interval: float = 1.0, waiting_for: str = "topics of other services",
) -> bool:
    """Wait until every topic of ``names`` exists (another service's worker or the operator
    creates them, possibly after this one started); False if ``stop`` was set first. Logs once
    that it is ``waiting_for`` them, and which; a broker not reachable yet counts as not there
    yet. A topic this client may not describe (no ACL) counts as missing."""
    wanted = set(names)
    logged = False
    while not stop.is_set():
        admin = AIOKafkaAdminClient(**client_options(kafka))
        try:
            await admin.start()
            missing = wanted - set(await admin.list_topics())
        except KafkaConnectionError:
            missing = wanted
        finally:
            await admin.close()
        if not missing:
            return True
        if not logged:
            log.info("waiting for %s", waiting_for, extra={"topics": sorted(missing)})
            logged = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
    return False
