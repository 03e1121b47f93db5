"""Topic provisioning through the Kafka admin client, run by each worker at startup.

Each service provisions the topics it owns (the ones it publishes on, its command topics and its
dead-letter topic). Creating a topic that exists is a no-op; partitions are never reduced.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

DAY_MS = 24 * 3600 * 1000


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
    bootstrap_servers: str, specs: Iterable[TopicSpec], *, timeout: float = 60.0
) -> list[str]:
    """Create the missing topics of ``specs``; returns the names that were created.

    Retries while the broker is not reachable yet, up to ``timeout`` seconds.
    """
    wanted = {spec.name: spec for spec in specs}
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
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
