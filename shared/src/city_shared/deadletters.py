"""Dead letters: records a consumer could not process, kept on ``<service>.deadletters``.

A dead letter is the original record (key, value, headers unchanged) plus ``dlq_*`` headers
saying where it came from and why it failed. Error texts are reduced to the exception type and
a bounded message; handlers must not put personal data into exception messages.

Operators list and replay them with ``python -m city_shared.deadletters``; a replay republishes
the original record to its original topic, where every other consumer group drops it through
its inbox and the failed group processes it again. The command connects as the worker does,
from the ``CITY_KAFKA_*`` settings of its environment (run it in the service's worker pod, with
the worker's Kafka user); ``--bootstrap`` only overrides the brokers' address.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from city_shared.kafka_client import Brokers, KafkaConnection, client_options
from city_shared.metrics import DEAD_LETTERS
from city_shared.relay import make_producer
from city_shared.settings import ServiceSettings
from city_shared.topics import TopicSpec

DLQ_PREFIX = "dlq_"
_MAX_ERROR = 300


def dead_letter_topic(service: str) -> str:
    """The dead-letter topic of one service's consumer group."""
    return f"{service}.deadletters"


def dead_letter_spec(service: str, *, retention_ms: int, replication: int = 1) -> TopicSpec:
    """The dead-letter topic as the worker creates it: one partition (a replay reads it in
    order), records kept ``retention_ms`` (``CITY_KAFKA_DEAD_LETTER_RETENTION_MS``)."""
    return TopicSpec(dead_letter_topic(service), partitions=1, replication=replication,
                     retention_ms=retention_ms)


class DeadLetterPublisher:
    """Publishes dead letters and waits for Kafka's ack before the caller commits the offset."""

    def __init__(
        self,
        topic: str,
        kafka: Brokers,
        *,
        producer_factory: Callable[[], AIOKafkaProducer] | None = None,
        attempts: int = 10,
    ) -> None:
        self.topic = topic
        self._factory = producer_factory or (lambda: make_producer(kafka))
        self._producer: AIOKafkaProducer | None = None
        self._attempts = attempts

    async def publish(
        self, record: ConsumerRecord[bytes, bytes], *, group: str, error: BaseException,
        attempts: int, reason: str,
    ) -> None:
        """Send ``record`` to the dead letters; raises if Kafka refuses it ``attempts`` times,
        so the record is never acknowledged without being kept somewhere."""
        headers = [(k, v) for k, v in (record.headers or ()) if not k.startswith(DLQ_PREFIX)]
        message = str(error).replace("\n", " ")[:_MAX_ERROR]
        headers += [
            ("dlq_topic", record.topic.encode()),
            ("dlq_partition", str(record.partition).encode()),
            ("dlq_offset", str(record.offset).encode()),
            ("dlq_group", group.encode()),
            ("dlq_reason", reason.encode()),
            ("dlq_error_type", type(error).__name__.encode()),
            ("dlq_error", message.encode()),
            ("dlq_attempts", str(attempts).encode()),
            ("dlq_failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        delay = 0.2
        for attempt in range(1, self._attempts + 1):
            try:
                if self._producer is None:
                    self._producer = self._factory()
                    await self._producer.start()
                await self._producer.send_and_wait(
                    self.topic, value=record.value, key=record.key, headers=headers
                )
                DEAD_LETTERS.labels(group, reason).inc()
                return
            except Exception:
                if self._producer is not None:
                    await self._producer.stop()
                    self._producer = None
                if attempt == self._attempts:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def close(self) -> None:
        """Flush and stop the producer."""
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None


@dataclass(frozen=True)
class DeadLetter:
    """One dead letter as an operator sees it (no record value: it may hold personal data)."""

    offset: int
    partition: int
    key: str | None
    event_id: str | None
    event_type: str | None
    original_topic: str
    reason: str
    error_type: str
    error: str
    attempts: int
    failed_at: str


def _header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode(errors="replace")
    return None


def _describe(record: ConsumerRecord[bytes, bytes]) -> DeadLetter:
    return DeadLetter(
        offset=record.offset,
        partition=record.partition,
        key=record.key.decode(errors="replace") if record.key else None,
        event_id=_header(record, "ce_id"),
        event_type=_header(record, "ce_type"),
        original_topic=_header(record, "dlq_topic") or "",
        reason=_header(record, "dlq_reason") or "",
        error_type=_header(record, "dlq_error_type") or "",
        error=_header(record, "dlq_error") or "",
        attempts=int(_header(record, "dlq_attempts") or 0),
        failed_at=_header(record, "dlq_failed_at") or "",
    )


async def read_all(kafka: Brokers, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record currently on ``topic``, read without a consumer group (commits nothing)."""
    consumer = AIOKafkaConsumer(
        topic, **client_options(kafka), enable_auto_commit=False, auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        # Without a group the consumer assigns itself every partition once metadata arrived.
        for _ in range(50):
            if consumer.assignment():
                break
            await asyncio.sleep(0.1)
        tps = sorted(consumer.assignment())
        if not tps:
            return []
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[ConsumerRecord[bytes, bytes]] = []
        pending = {tp for tp in tps if ends[tp] > 0}
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, batch in batches.items():
                records.extend(batch)
                if batch and batch[-1].offset + 1 >= ends[tp]:
                    pending.discard(tp)
            if not batches:
                for tp in list(pending):
                    if await consumer.position(tp) >= ends[tp]:
                        pending.discard(tp)
        return records
    finally:
        await consumer.stop()


async def list_dead_letters(kafka: Brokers, topic: str) -> list[DeadLetter]:
    """The dead letters on ``topic``, oldest first per partition."""
    return [_describe(r) for r in await read_all(kafka, topic)]


async def replay(
    kafka: Brokers, topic: str, *, partition: int, offsets: Sequence[int] | None = None
) -> int:
    """Republish dead letters (all on ``partition``, or only ``offsets``) to their original topic.

    Returns how many were republished. Replaying twice is harmless: consumers dedupe by event id.
    """
    wanted = set(offsets) if offsets is not None else None
    records = [
        r for r in await read_all(kafka, topic)
        if r.partition == partition and (wanted is None or r.offset in wanted)
    ]
    producer = make_producer(kafka)
    await producer.start()
    try:
        for record in records:
            original = _header(record, "dlq_topic")
            if not original:
                continue
            headers = [(k, v) for k, v in (record.headers or ()) if not k.startswith(DLQ_PREFIX)]
            await producer.send_and_wait(
                original, value=record.value, key=record.key, headers=headers
            )
    finally:
        await producer.stop()
    return len(records)


def main(argv: Sequence[str] | None = None) -> int:
    """``list`` or ``replay`` the dead letters of a service (JSON lines on stdout)."""
    parser = argparse.ArgumentParser(prog="python -m city_shared.deadletters")
    parser.add_argument("command", choices=["list", "replay"])
    parser.add_argument("--service", required=True)
    parser.add_argument("--bootstrap", help="default: CITY_KAFKA_BOOTSTRAP_SERVERS")
    parser.add_argument("--partition", type=int, default=0)
    parser.add_argument("--offset", type=int, action="append")
    args = parser.parse_args(argv)
    kafka = connection_from_environment(args.service, args.bootstrap)
    topic = dead_letter_topic(args.service)
    if args.command == "list":
        for letter in asyncio.run(list_dead_letters(kafka, topic)):
            sys.stdout.write(json.dumps(letter.__dict__) + "\n")
        return 0
    count = asyncio.run(
        replay(kafka, topic, partition=args.partition, offsets=args.offset)
    )
    sys.stdout.write(json.dumps({"replayed": count}) + "\n")
    return 0


def connection_from_environment(service: str, bootstrap: str | None) -> KafkaConnection:
    """The worker's Kafka connection from the ``CITY_*`` environment (security included)."""
    settings = ServiceSettings(service_name=service)
    if bootstrap:
        settings = settings.model_copy(update={"kafka_bootstrap_servers": bootstrap})
    return settings.kafka_connection()


if __name__ == "__main__":
    raise SystemExit(main())
