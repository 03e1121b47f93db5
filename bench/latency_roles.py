"""The four roles of a latency run, each an async function that can run in its own process.

- ``writer``: the API. Open-loop: event ``i`` is written by its own task at ``start + i / rate``
  whatever earlier commits took, so a slow path cannot hide its latency by slowing the load
  (coordinated omission). One event per transaction; ``time.time()`` right after the commit is
  kept by event id. With ``spec.raw`` it commits a state row instead of an outbox row and then
  sends the record itself with the platform producer ("publish after commit").
- ``relay``: the producing service's worker, an ``OutboxRelay`` with its defaults; it records
  when Kafka acknowledged each row (``before_mark``).
- ``consumer``: the consuming service's worker, a ``city_shared.consumer.Consumer`` (inbox row,
  handler, commit) whose handler stamps ``time.time()``; with ``spec.raw`` a bare
  ``AIOKafkaConsumer`` that stamps each record on arrival.

A role talks to the orchestrator only through :class:`Control` (ready, stop, progress) and
returns its measurements; :mod:`bench.latency` runs roles in separate processes or as tasks of
one event loop.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Protocol

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import RecordMetadata
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bench.workload import EVENT_TYPE, aggregate_ids, order_placed
from city_shared import outbox
from city_shared.consumer import Consumer, ConsumerConfig, Subscription
from city_shared.db import asyncpg_dsn, create_engine, create_session_factory
from city_shared.deadletters import DeadLetterPublisher
from city_shared.envelope import Event, to_kafka
from city_shared.relay import OutboxRelay, RelayConfig, make_producer
from city_shared.telemetry import instrument_engine

_INSERT_STATE = text("INSERT INTO bench_state (data) VALUES (CAST(:data AS jsonb))")

#: event id -> (sequence number, time.time()) of its commit
Commits = dict[str, tuple[int, float]]
#: event id -> time.time() of its arrival
Arrivals = dict[str, float]
#: (outbox row ids, time.time() of Kafka's ack)
Acks = list[tuple[list[int], float]]


@dataclass(frozen=True)
class Received:
    """What a consumer role measured: arrivals, and the mean of the shared consumer's
    ``city_event_handler_duration_seconds`` metric, if it ran."""

    arrivals: Arrivals
    handler_seconds: float | None = None


class Control(Protocol):
    """What a role shares with the orchestrator."""

    def set_ready(self) -> None: ...

    def stopped(self) -> bool: ...

    def add_arrival(self) -> None: ...


@dataclass(frozen=True)
class Spec:
    """Everything a role needs; picklable, so it crosses into a spawned process."""

    db_url: str
    bootstrap: str
    topic: str
    dead_letter_topic: str
    group: str
    rate: float
    total: int
    raw: bool
    #: when set, each role process runs under cProfile and writes ``<dir>/<role>.prof``
    profile_dir: str | None = None


async def poll(
    predicate: Callable[[], bool], *, interval: float = 0.05, timeout: float = math.inf
) -> bool:
    """Whether ``predicate`` became true within ``timeout`` seconds. Polls, because the state
    it watches may live in another process."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(interval)


async def _until_stopped(control: Control, stop: asyncio.Event) -> None:
    await poll(control.stopped)
    stop.set()


async def open_loop(
    rate: float, count: int, write_one: Callable[[int], Coroutine[None, None, None]]
) -> float:
    """Start ``write_one(i)`` at ``start + i / rate``; return the largest lateness in seconds."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    tasks: set[asyncio.Task[None]] = set()
    slip = 0.0
    for i in range(count):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            slip = max(slip, -delay)
        task = asyncio.create_task(write_one(i))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    return slip


async def writer(spec: Spec, control: Control) -> tuple[Commits, float]:
    """Write ``spec.total`` events at ``spec.rate``; returns commit times and the worst slip."""
    engine = create_engine(spec.db_url)
    sessions = create_session_factory(engine)
    producer = make_producer(spec.bootstrap) if spec.raw else None
    sends: list[asyncio.Future[RecordMetadata]] = []
    commits: Commits = {}
    rng = random.Random(3)
    aggregates = aggregate_ids(64, rng)

    async def write_one(seq: int) -> None:
        event = order_placed(rng.choice(aggregates), seq, rng)
        async with sessions() as session, session.begin():
            if producer is None:
                await outbox.add(session, spec.topic, event)
            else:
                await session.execute(_INSERT_STATE, {"data": event.model_dump_json()})
        commits[str(event.id)] = (seq, time.time())
        if producer is not None:
            message = to_kafka(event)
            sends.append(await producer.send(
                spec.topic, value=message.value, key=event.subject.encode(),
                headers=list(message.headers.items()),
            ))

    try:
        if producer is not None:
            await producer.start()
        control.set_ready()
        slip = await open_loop(spec.rate, spec.total, write_one)
        await asyncio.gather(*sends)
        return commits, slip
    finally:
        if producer is not None:
            await producer.stop()
        await engine.dispose()


async def relay(spec: Spec, control: Control) -> Acks:
    """Run an ``OutboxRelay`` with its defaults until stopped; returns when rows were acked."""
    acks: Acks = []

    async def before_mark(ids: list[int]) -> None:
        acks.append((ids, time.time()))

    stop = asyncio.Event()
    outbox_relay = OutboxRelay(
        RelayConfig(service="bench", dsn=asyncpg_dsn(spec.db_url),
                    kafka=spec.bootstrap),
        before_mark=before_mark,
    )
    task = asyncio.create_task(outbox_relay.run(stop))
    watcher = asyncio.create_task(_until_stopped(control, stop))
    await poll(lambda: outbox_relay.is_leader or task.done(), interval=0.02)
    control.set_ready()
    await asyncio.gather(task, watcher)
    return acks


async def consumer(spec: Spec, control: Control) -> Received:
    """Consume ``spec.topic`` until stopped; returns when each event reached the handler."""
    if spec.raw:
        return Received(await _bare_consumer(spec, control))
    arrivals: Arrivals = {}

    async def on_order_placed(session: AsyncSession, event: Event) -> None:
        if str(event.id) not in arrivals:
            arrivals[str(event.id)] = time.time()
            control.add_arrival()

    engine = create_engine(spec.db_url)
    instrument_engine(engine)  # as the worker does
    dead_letters = DeadLetterPublisher(spec.dead_letter_topic, spec.bootstrap)
    shared_consumer = Consumer(
        ConsumerConfig(group_id=spec.group, kafka=spec.bootstrap,
                       dead_letter_topic=spec.dead_letter_topic),
        create_session_factory(engine),
        [Subscription(spec.topic, EVENT_TYPE, on_order_placed)],
        dead_letters=dead_letters,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(shared_consumer.run(stop))
    watcher = asyncio.create_task(_until_stopped(control, stop))
    ready = asyncio.create_task(shared_consumer.ready.wait())
    try:
        await asyncio.wait([ready, task], return_when=asyncio.FIRST_COMPLETED)
        control.set_ready()
        await asyncio.gather(task, watcher)
    finally:
        ready.cancel()
        await dead_letters.close()
        await engine.dispose()
    labels = {"group": spec.group, "type": EVENT_TYPE}
    total = REGISTRY.get_sample_value("city_event_handler_duration_seconds_sum", labels)
    count = REGISTRY.get_sample_value("city_event_handler_duration_seconds_count", labels)
    return Received(arrivals, total / count if total is not None and count else None)


async def _bare_consumer(spec: Spec, control: Control) -> Arrivals:
    arrivals: Arrivals = {}
    kafka = AIOKafkaConsumer(
        spec.topic, bootstrap_servers=spec.bootstrap, group_id=spec.group,
        enable_auto_commit=False, auto_offset_reset="earliest",
        isolation_level="read_committed", max_poll_interval_ms=600_000,
    )
    await kafka.start()
    try:
        while not control.stopped():
            batches = await kafka.getmany(timeout_ms=200, max_records=100)
            arrived = time.time()
            if kafka.assignment():
                control.set_ready()
            for tp, records in batches.items():
                for record in records:
                    event_id = dict(record.headers or ()).get("ce_id", b"").decode()
                    if event_id not in arrivals:
                        arrivals[event_id] = arrived
                        control.add_arrival()
                await kafka.commit({tp: records[-1].offset + 1})
    finally:
        await kafka.stop()
    return arrivals
