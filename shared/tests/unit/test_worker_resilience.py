"""The worker's jobs restart after failures without touching each other, the probes tell a
stuck component from a waiting one, and faults are told from bugs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg
import pytest
from aiokafka import errors as kafka_errors
from sqlalchemy import exc as sa_exc

from city_shared.faults import Backoff, is_transient
from city_shared.metrics import WORKER_TASK_RESTARTS
from city_shared.worker import keep_running
from city_shared.worker_health import WorkerHealth


async def test_a_failing_job_is_restarted_and_another_job_keeps_running() -> None:
    stop = asyncio.Event()
    runs = {"flaky": 0, "steady": 0}

    async def flaky(stop: asyncio.Event) -> None:
        runs["flaky"] += 1
        if runs["flaky"] <= 3:
            raise RuntimeError("a bug in one round")
        await stop.wait()

    async def steady(stop: asyncio.Event) -> None:
        while not stop.is_set():
            runs["steady"] += 1
            await asyncio.sleep(0.01)

    before = WORKER_TASK_RESTARTS.labels("svc", "flaky")._value.get()
    tasks = [asyncio.create_task(keep_running("svc", "flaky", flaky, stop,
                                              backoff=Backoff(0.01, 0.05))),
             asyncio.create_task(keep_running("svc", "steady", steady, stop))]
    for _ in range(200):
        if runs["flaky"] == 4:
            break
        await asyncio.sleep(0.01)
    steady_runs = runs["steady"]
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*tasks)
    assert runs["flaky"] == 4
    assert runs["steady"] > steady_runs > 0
    assert WORKER_TASK_RESTARTS.labels("svc", "flaky")._value.get() - before == 3


async def test_a_job_that_returns_early_is_started_again() -> None:
    stop = asyncio.Event()
    runs = 0

    async def returns(stop: asyncio.Event) -> None:
        nonlocal runs
        runs += 1
        if runs == 3:
            stop.set()

    await asyncio.wait_for(
        keep_running("svc", "returns", returns, stop, backoff=Backoff(0.01, 0.01)), 5)
    assert runs == 3


@dataclass
class _Part:
    last_beat: float
    waiting_for: str | None = None


async def test_probes_tell_stuck_from_waiting() -> None:
    now = asyncio.get_running_loop().time()
    health = WorkerHealth(stale_after=60)
    assert health.liveness()[0] is True
    assert health.readiness() == (False, {"starting": True})

    relay, consumer, assigned = _Part(now), _Part(now), asyncio.Event()
    health.attach(relay=relay, consumer=consumer, consumer_ready=assigned)
    assert health.liveness()[0] is True
    assert health.readiness()[0] is False  # no partitions yet
    assigned.set()
    assert health.readiness()[0] is True

    consumer.waiting_for = "database"  # waiting out an outage: alive, not ready
    assert health.liveness()[0] is True
    ready, detail = health.readiness()
    assert (ready, detail["waiting_for"]) == (False, {"consumer": "database"})

    consumer.last_beat = now - 61  # no sign of life for longer than allowed: stuck
    alive, detail = health.liveness()
    assert (alive, detail["stale"]) == (False, ["consumer"])


@pytest.mark.parametrize("error", [
    ConnectionRefusedError(111, "refused"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.InternalClientError("cannot switch to state 12"),
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    sa_exc.DBAPIError("SELECT 1", {}, asyncpg.AdminShutdownError("terminating"),
                      connection_invalidated=True),
    kafka_errors.KafkaConnectionError("broker gone"),
    kafka_errors.RequestTimedOutError(),
])
def test_faults_of_the_infrastructure_are_transient(error: BaseException) -> None:
    assert is_transient(error)


def _wrapped(inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise sa_exc.OperationalError("SELECT 1", {}, Exception("adapted")) from exc
    except BaseException as outer:
        return outer


@pytest.mark.parametrize("error", [
    ValueError("bad data"),
    KeyError("template"),
    asyncpg.UniqueViolationError("duplicate key"),
    asyncpg.DataError("invalid input for query argument"),
    kafka_errors.RecordTooLargeError(),
    FileNotFoundError("template.txt"),
])
def test_bugs_and_bad_data_are_not_transient(error: BaseException) -> None:
    assert not is_transient(error)


def test_a_fault_wrapped_by_sqlalchemy_is_found_in_its_causes() -> None:
    assert is_transient(_wrapped(asyncpg.CannotConnectNowError("starting up")))
    assert not is_transient(_wrapped(asyncpg.UniqueViolationError("duplicate")))
