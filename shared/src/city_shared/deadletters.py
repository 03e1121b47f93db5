"""Dead letters: records a consumer could not process, kept on ``<service>.deadletters``.

A dead letter is the original record (key, value, headers unchanged) plus ``dlq_*`` headers
saying where it came from and why it failed. Error texts are reduced to the exception type and
a bounded message; handlers must not put personal data into exception messages.

Operators list and replay them with ``python -m city_shared.deadletters``; a replay republishes
the original record to its original topic, where every other consumer group drops it through
its inbox and the failed group processes it again.
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

from city_shared.metrics import DEAD_LETTERS
from city_shared.relay import make_producer

DLQ_PREFIX = "dlq_"
_MAX_ERROR = 300


def dead_letter_topic(service: str) -> str:
    """The dead-letter topic of one service's consumer group."""
    return f"{service}.deadletters"


class DeadLetterPublisher:
    """Publishes dead letters and waits for Kafka's ack before the caller commits the offset."""

    def __init__(
        self,
        topic: str,
        bootstrap_servers: str,
        *,
        producer_factory: Callable[[], AIOKafkaProducer] | None = None,
        attempts: int = 10,
    ) -> None:
        self.topic = topic
        self._factory = producer_factory or (lambda: make_producer(bootstrap_servers))
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


async def read_all(bootstrap_servers: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record currently on ``topic``, read without a consumer group (commits nothing)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap_servers, enable_auto_commit=False,
        auto_offset_reset="earliest",
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


async def list_dead_letters(bootstrap_servers: str, topic: str) -> list[DeadLetter]:
    """The dead letters on ``topic``, oldest first per partition."""
    return [_describe(r) for r in await read_all(bootstrap_servers, topic)]


async def replay(
    bootstrap_servers: str, topic: str, *, partition: int, offsets: Sequence[int] | None = None
) -> int:
    """Republish dead letters (all on ``partition``, or only ``offsets``) to their original topic.

    Returns how many were republished. Replaying twice is harmless: consumers dedupe by event id.
    """
    wanted = set(offsets) if offsets is not None else None
    records = [
        r for r in await read_all(bootstrap_servers, topic)
        if r.partition == partition and (wanted is None or r.offset in wanted)
    ]
    producer = make_producer(bootstrap_servers)
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
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--partition", type=int, default=0)
    parser.add_argument("--offset", type=int, action="append")
    args = parser.parse_args(argv)
    topic = dead_letter_topic(args.service)
    if args.command == "list":
        for letter in asyncio.run(list_dead_letters(args.bootstrap, topic)):
            sys.stdout.write(json.dumps(letter.__dict__) + "\n")
        return 0
    count = asyncio.run(
        replay(args.bootstrap, topic, partition=args.partition, offsets=args.offset)
    )
    sys.stdout.write(json.dumps({"replayed": count}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
