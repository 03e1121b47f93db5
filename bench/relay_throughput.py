"""Outbox relay throughput against a raw producer sending the same records to the same broker.

The relay is timed alone: the outbox is filled before it starts, and the clock runs from
``OutboxRelay.run`` until Kafka acknowledged the last batch (the ``before_mark`` hook). The raw
baseline is :func:`city_shared.relay.make_producer` (idempotent, ``acks=all``, same linger) sending
the records :func:`city_shared.envelope.to_kafka` makes of the same events, all in flight at
once, to a fresh topic with the same partitions; its clock includes the producer's start as the
relay's does.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import RecordMetadata

from bench.infra import Database, Infra
from bench.stats import median
from bench.workload import bulk_insert, make_events
from city_shared.envelope import Event, to_kafka
from city_shared.relay import DEFAULT_BATCH_SIZE, OutboxRelay, RelayConfig, make_producer

RawRecord = tuple[bytes, bytes, list[tuple[str, bytes]]]


@dataclass(frozen=True)
class ThroughputRun:
    relay_seconds: float
    raw_seconds: float
    insert_seconds: float
    #: CPU time this process spent while the relay / the raw producer ran
    relay_cpu_seconds: float
    raw_cpu_seconds: float
    #: the relay with ``ThroughputResult.extra_batch_size`` (a tuning probe), if measured
    relay_extra_seconds: float | None = None


@dataclass(frozen=True)
class ThroughputResult:
    events: int
    aggregates: int
    partitions: int
    batch_size: int
    runs: list[ThroughputRun]
    extra_batch_size: int | None = None
    #: mean record value size sent by the raw producer (``to_kafka``) and by the relay
    #: (the stored ``jsonb`` rendered as text)
    raw_value_bytes: float = 0.0
    relay_value_bytes: float = 0.0

    @property
    def relay_rate(self) -> float:
        return self.events / median([run.relay_seconds for run in self.runs])

    @property
    def raw_rate(self) -> float:
        return self.events / median([run.raw_seconds for run in self.runs])

    @property
    def insert_rate(self) -> float:
        return self.events / median([run.insert_seconds for run in self.runs])

    @property
    def ratio(self) -> float:
        return self.relay_rate / self.raw_rate

    @property
    def relay_extra_rate(self) -> float | None:
        seconds = [run.relay_extra_seconds for run in self.runs]
        if not seconds or any(s is None for s in seconds):
            return None
        return self.events / median([s for s in seconds if s is not None])

    def rates(self, attr: str) -> list[float]:
        return [self.events / getattr(run, attr) for run in self.runs]


def raw_records(events: list[Event]) -> list[RawRecord]:
    """(key, value, headers) exactly as the relay sends them."""
    records = []
    for event in events:
        message = to_kafka(event)
        assert isinstance(message.value, bytes)
        records.append((event.subject.encode(), message.value, list(message.headers.items())))
    return records


async def topic_size(bootstrap: str, topic: str, partitions: int) -> int:
    """The number of records in ``topic`` (sum of the partitions' end offsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
        return sum(ends.values())
    finally:
        await consumer.stop()


async def time_relay(
    db: Database, bootstrap: str, expected: int, *, batch_size: int = DEFAULT_BATCH_SIZE,
    wrap: Callable[[Awaitable[None]], Awaitable[None]] | None = None,
) -> tuple[float, float]:
    """Seconds from starting a relay on a filled outbox until all ``expected`` rows were acked,
    and the CPU seconds this process spent meanwhile.

    ``wrap`` lets the profiler run the measured part under cProfile.
    """
    acked = 0
    done = asyncio.Event()

    async def before_mark(ids: list[int]) -> None:
        nonlocal acked
        acked += len(ids)
        if acked >= expected:
            done.set()

    relay = OutboxRelay(
        RelayConfig(service=f"bench-{uuid.uuid4().hex[:8]}", dsn=db.dsn,
                    kafka=bootstrap, batch_size=batch_size),
        before_mark=before_mark,
    )
    stop = asyncio.Event()

    async def measured() -> None:
        await asyncio.wait_for(done.wait(), timeout=300)

    started, cpu_started = time.perf_counter(), time.process_time()
    task = asyncio.create_task(relay.run(stop))
    try:
        await (wrap(measured()) if wrap is not None else measured())
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
    conn = await asyncpg.connect(db.dsn)
    try:
        unpublished = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    finally:
        await conn.close()
    if unpublished:
        raise RuntimeError(f"relay left {unpublished} rows unpublished")
    return elapsed, cpu


async def time_raw(
    bootstrap: str, topic: str, records: list[RawRecord]
) -> tuple[float, float]:
    """Seconds for a fresh platform producer to start and get every record acknowledged, and
    the CPU seconds this process spent meanwhile."""
    started, cpu_started = time.perf_counter(), time.process_time()
    producer = make_producer(bootstrap)
    await producer.start()
    try:
        futures: list[asyncio.Future[RecordMetadata]] = []
        for key, value, headers in records:
            futures.append(await producer.send(topic, value=value, key=key, headers=headers))
        await asyncio.gather(*futures)
        return time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        await producer.stop()


async def fill_outbox(infra: Infra, db: Database, events: list[Event], topic: str) -> float:
    conn = await asyncpg.connect(db.dsn)
    try:
        await conn.execute("TRUNCATE outbox")
    finally:
        await conn.close()
    started = time.perf_counter()
    await bulk_insert(db.url, topic, events)
    return time.perf_counter() - started


async def measure_throughput(
    infra: Infra, *, events: int, aggregates: int, repeats: int, partitions: int = 3,
    batch_size: int = DEFAULT_BATCH_SIZE, extra_batch_size: int | None = None,
    log: Callable[[str], None] = print,
) -> ThroughputResult:
    """Alternate relay and raw runs ``repeats`` times each (fresh topics, same events).

    With ``extra_batch_size`` each repeat also times a relay with that batch size, as a probe
    of how much the batch size matters.
    """
    batch = make_events(events, aggregates)
    records = raw_records(batch)
    db = await infra.new_database("bench_relay")
    runs: list[ThroughputRun] = []
    for attempt in range(1, repeats + 1):
        relay_topic = await infra.new_topic("bench.relay", partitions)
        insert_seconds = await fill_outbox(infra, db, batch, relay_topic)
        relay_seconds, relay_cpu = await time_relay(db, infra.bootstrap, events,
                                                    batch_size=batch_size)
        raw_topic = await infra.new_topic("bench.raw", partitions)
        raw_seconds, raw_cpu = await time_raw(infra.bootstrap, raw_topic, records)
        for topic in (relay_topic, raw_topic):
            size = await topic_size(infra.bootstrap, topic, partitions)
            if size != events:
                raise RuntimeError(f"{topic} holds {size} records, expected {events}")
        extra_seconds = None
        if extra_batch_size is not None:
            extra_topic = await infra.new_topic("bench.relay", partitions)
            await fill_outbox(infra, db, batch, extra_topic)
            extra_seconds, _ = await time_relay(db, infra.bootstrap, events,
                                                batch_size=extra_batch_size)
        runs.append(ThroughputRun(relay_seconds, raw_seconds, insert_seconds, relay_cpu, raw_cpu,
                                  extra_seconds))
        log(f"  throughput run {attempt}/{repeats}: relay {events / relay_seconds:,.0f}/s, "
            f"raw {events / raw_seconds:,.0f}/s (outbox fill {insert_seconds:.1f} s)")
    conn = await asyncpg.connect(db.dsn)
    try:
        relay_bytes = float(await conn.fetchval("SELECT avg(octet_length(data::text)) FROM outbox"))
    finally:
        await conn.close()
    raw_bytes = sum(len(value) for _, value, _ in records) / len(records)
    return ThroughputResult(events, aggregates, partitions, batch_size, runs, extra_batch_size,
                            raw_bytes, relay_bytes)
