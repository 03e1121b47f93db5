"""End-to-end latency from a writer's commit to the consumer, through the backbone and without it.

Roles (:mod:`bench.latency_roles`) run as in production, each in its own process: the API
(writer), the producing service's worker (relay) and the consuming service's worker (consumer);
or, for comparison, all as tasks of one event loop. Commit and arrival are both stamped with
``time.time()`` (one machine, one clock). The first ``warmup`` seconds of events are written and
delivered but not counted.

- Outbox path: ``outbox.add`` in the writer's transaction -> ``OutboxRelay`` (woken by NOTIFY)
  -> Kafka -> ``city_shared.consumer.Consumer``, measured when the handler runs; also reported,
  commit -> Kafka ack as the relay saw it.
- Raw baseline: commit a state row, then send the same record with the platform producer; a
  bare ``AIOKafkaConsumer`` (same isolation and batch size) stamps arrival.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import multiprocessing.connection
import multiprocessing.synchronize
import os
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from multiprocessing.context import SpawnContext
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

import asyncpg

from bench import cpu
from bench import latency_roles as roles
from bench.infra import Infra, quiet_logging
from bench.profiling import new_profile
from bench.stats import Latency
from city_shared.telemetry import setup_tracing

_DRAIN_TIMEOUT = 60.0
_ROLES: dict[str, Callable[[roles.Spec, roles.Control], Coroutine[Any, Any, Any]]] = {
    "writer": roles.writer, "relay": roles.relay, "consumer": roles.consumer,
}


@dataclass(frozen=True)
class LatencyResult:
    """One latency run: what was written, what arrived, and the distribution."""

    label: str
    rate: float
    seconds: float
    written: int
    delivered: int
    achieved_rate: float
    delivery_rate: float
    max_schedule_slip_ms: float
    end_to_end: Latency
    to_kafka_ack: Latency | None = None
    #: share of one core each process used while the writer ran ("machine": of all cores)
    cpu: dict[str, float] = field(default_factory=dict)
    #: mean of the consumer's ``city_event_handler_duration_seconds`` metric
    consumer_handler_ms: float | None = None
    #: mean rows per relay batch
    relay_batch: float | None = None


# -- running roles ------------------------------------------------------------------------------


class _LocalControl:
    def __init__(self) -> None:
        self.ready = False
        self.stop = False
        self.arrivals = 0

    def set_ready(self) -> None:
        self.ready = True

    def stopped(self) -> bool:
        return self.stop

    def add_arrival(self) -> None:
        self.arrivals += 1


class _SharedControl:
    def __init__(self, ctx: SpawnContext) -> None:
        self.ready: multiprocessing.synchronize.Event = ctx.Event()
        self.stop: multiprocessing.synchronize.Event = ctx.Event()
        self.arrivals: Synchronized[int] = ctx.Value("i", 0)

    def set_ready(self) -> None:
        self.ready.set()

    def stopped(self) -> bool:
        return self.stop.is_set()

    def add_arrival(self) -> None:
        with self.arrivals.get_lock():
            self.arrivals.value += 1


def _child_main(role: str, spec: roles.Spec, control: _SharedControl,
                results: multiprocessing.connection.Connection) -> None:
    """Entry point of a spawned role process: tracing as in a worker, then the role."""
    quiet_logging()
    setup_tracing(f"bench-{role}")
    profile = new_profile() if spec.profile_dir else None
    try:
        if profile is not None:
            profile.enable()
        try:
            result = asyncio.run(_ROLES[role](spec, control))
        finally:
            if profile is not None:
                profile.disable()
                profile.dump_stats(Path(spec.profile_dir or ".") / f"{role}.prof")
        results.send(("ok", result))
    except BaseException as exc:
        results.send(("error", repr(exc)))
        raise


class _Runner:
    """One role, in a spawned process (``separate``) or as a task of this loop."""

    def __init__(self, role: str, spec: roles.Spec, *, separate: bool) -> None:
        self.role = role
        self._task: asyncio.Task[Any] | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._control: _LocalControl | _SharedControl
        if separate:
            ctx = multiprocessing.get_context("spawn")
            self._control = _SharedControl(ctx)
            self._results, sender = ctx.Pipe(duplex=False)
            self._process = ctx.Process(target=_child_main, name=f"bench-{role}", daemon=True,
                                        args=(role, spec, self._control, sender))
        else:
            self._control = _LocalControl()
        self._spec = spec

    def start(self) -> None:
        if self._process is not None:
            self._process.start()
        else:
            self._task = asyncio.create_task(_ROLES[self.role](self._spec, self._control))

    def _failed(self) -> bool:
        if self._process is not None:
            return self._process.exitcode is not None
        return self._task is not None and self._task.done()

    def _ready(self) -> bool:
        if isinstance(self._control, _SharedControl):
            return self._control.ready.is_set()
        return self._control.ready

    async def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self._failed() or time.monotonic() > deadline:
                await self.result(1.0)  # raises the role's error if it has one
                raise RuntimeError(f"the {self.role} did not become ready")
            await asyncio.sleep(0.02)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def arrivals(self) -> int:
        if isinstance(self._control, _SharedControl):
            return int(self._control.arrivals.value)
        return self._control.arrivals

    def stop(self) -> None:
        if isinstance(self._control, _SharedControl):
            self._control.stop.set()
        else:
            self._control.stop = True

    async def result(self, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        if self._task is not None:
            return await asyncio.wait_for(self._task, timeout)
        while not self._results.poll():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the {self.role} process gave no result")
            await asyncio.sleep(0.05)
        try:
            status, value = self._results.recv()
        except EOFError:
            code = self._process.exitcode if self._process is not None else None
            raise RuntimeError(f"the {self.role} process died (exit code {code})") from None
        if status != "ok":
            raise RuntimeError(f"the {self.role} process failed: {value}")
        return value

    async def close(self) -> None:
        self.stop()
        if self._task is not None and not self._task.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 30)
        if self._process is not None and self._process.pid is not None:
            await asyncio.to_thread(self._process.join, 30)
            if self._process.is_alive():
                self._process.terminate()
                await asyncio.to_thread(self._process.join, 5)


# -- measuring -----------------------------------------------------------------------------------


async def measure_latency(
    infra: Infra, *, raw: bool, separate: bool, rate: float, seconds: float, warmup: float,
    profile_dir: Path | None = None,
) -> LatencyResult:
    """One latency run of the outbox path (``raw=False``) or the raw baseline.

    With ``profile_dir`` (and ``separate``) each role process is profiled into that directory.
    """
    db = await infra.new_database("bench_latency")
    spec = roles.Spec(
        db_url=db.url, bootstrap=infra.bootstrap, topic=await infra.new_topic("bench.latency"),
        dead_letter_topic=await infra.new_topic("bench.deadletters", partitions=1),
        group=f"bench-{uuid.uuid4().hex[:8]}", rate=rate, total=int((warmup + seconds) * rate),
        raw=raw, profile_dir=str(profile_dir) if profile_dir is not None else None,
    )
    consumer = _Runner("consumer", spec, separate=separate)
    relay = None if raw else _Runner("relay", spec, separate=separate)
    writer = _Runner("writer", spec, separate=separate)
    runners = [r for r in (consumer, relay, writer) if r is not None]
    try:
        for runner in runners[:-1]:
            runner.start()
        for runner in runners[:-1]:
            await runner.wait_ready(90)
        writer.start()
        watched: dict[str, int | None] = (
            {r.role: r.pid for r in runners} if separate else {"process": os.getpid()}
        )
        if infra.kafka.pid is not None:
            watched["kafka"] = infra.kafka.pid
        before = cpu.sample(watched)
        commits, slip = await writer.result(timeout=warmup + seconds + 120)
        usage = cpu.usage(before, cpu.sample(watched))
        await roles.poll(lambda: consumer.arrivals() >= spec.total, timeout=_DRAIN_TIMEOUT)
        consumer.stop()
        if relay is not None:
            relay.stop()
        received: roles.Received = await consumer.result(60)
        acks: roles.Acks = await relay.result(60) if relay is not None else []
    finally:
        for runner in runners:
            await runner.close()
    arrivals = received.arrivals
    warm = int(warmup * rate)
    measured = {eid: at for eid, (seq, at) in commits.items() if seq >= warm}
    delivered = [arrivals[eid] for eid in measured if eid in arrivals]
    procs = f"{len(runners)} processes" if separate else "one process"
    label = ("raw: send after commit -> bare consumer" if raw
             else "outbox -> relay -> Kafka -> Consumer handler") + f" ({procs})"
    return LatencyResult(
        label=label, rate=rate, seconds=seconds, written=len(measured),
        delivered=len(delivered), achieved_rate=_rate(list(measured.values())),
        delivery_rate=_rate(delivered), max_schedule_slip_ms=slip * 1000,
        end_to_end=Latency.of([arrivals[eid] - at for eid, at in measured.items()
                               if eid in arrivals]),
        to_kafka_ack=None if raw else Latency.of(_since(measured, await _acked(db.dsn, acks))),
        cpu=usage,
        consumer_handler_ms=None if received.handler_seconds is None
        else received.handler_seconds * 1000,
        relay_batch=sum(len(ids) for ids, _ in acks) / len(acks) if acks else None,
    )


def _rate(stamps: list[float]) -> float:
    return (len(stamps) - 1) / (max(stamps) - min(stamps)) if len(stamps) > 1 else 0.0


def _since(commits: dict[str, float], later: dict[str, float]) -> list[float]:
    return [later[eid] - at for eid, at in commits.items() if eid in later]


async def _acked(dsn: str, acks: roles.Acks) -> dict[str, float]:
    """Event id -> when the relay saw Kafka's ack for its row."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT id, event_id FROM outbox")
    finally:
        await conn.close()
    event_of = {row["id"]: str(row["event_id"]) for row in rows}
    return {event_of[row_id]: at for ids, at in acks for row_id in ids}
