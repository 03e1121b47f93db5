"""Fault: a worker process is killed with SIGKILL in the middle of a batch and a new one starts.
Every event ends with exactly one effect: the killed batch's transaction was rolled back with
its inbox claims, and its records are handled again by the new worker.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from .backbone_kit import (
    Db,
    figures,
    migrated_db,
    new_topic,
    no_harm,
    publish_stream,
    seq_event,
    settle,
    tally,
)

EVENTS = 240
AGGREGATES = 8
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
async def db(database_url: Callable[[], Awaitable[str]]) -> AsyncIterator[Db]:
    handle = await migrated_db(await database_url())
    yield handle
    await handle.engine.dispose()


class Worker:
    """One ``fault_worker`` process; counts the events it reports handled."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.handled = 0
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, db: Db, bootstrap: str, topic: str, dlq: str, group: str, *,
                    log: Path, effect_apart: bool) -> Worker:
        argv = [sys.executable, "-m", "shared.tests.integration.fault_worker",
                "--database-url", db.url, "--bootstrap", bootstrap, "--topic", topic,
                "--dlq", dlq, "--group", group]
        if effect_apart:
            argv.append("--effect-apart")
        with log.open("ab") as stderr:
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=REPO, env=dict(os.environ), stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
            )
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            if line.startswith(b"handled "):
                self.handled += 1

    async def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        await self._reader

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout=30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        await self._reader
        return self.proc.returncode or 0


async def _claims(db: Db) -> int:
    return await db.scalar("SELECT count(*) FROM inbox")


@dataclass
class Run:
    ids: set[uuid.UUID]
    dlq: str
    handled_by_killed: int
    claimed_when_killed: int
    successor_alive: bool
    successor_exit: int


async def _kill_mid_batch_and_restart(
    db: Db, bootstrap: str, log: Path, *, effect_apart: bool
) -> Run:
    topic = await new_topic(bootstrap, partitions=2)
    dlq = await new_topic(bootstrap, partitions=1)
    events = [seq_event(f"agg-{seq % AGGREGATES}", seq) for seq in range(EVENTS)]
    await publish_stream(bootstrap, topic, events)
    group = f"g-{uuid.uuid4().hex[:8]}"

    first = await Worker.start(db, bootstrap, topic, dlq, group, log=log,
                               effect_apart=effect_apart)
    try:
        async def mid_batch() -> bool:
            # Some batches committed, and at least 10 events handled in one not yet committed.
            claimed = await _claims(db)
            return claimed >= 40 and first.handled >= claimed + 10

        assert await settle(mid_batch, timeout=90, quiet=0), "the worker never got mid-batch"
    finally:
        await first.kill()
    claimed_when_killed = await _claims(db)

    second = await Worker.start(db, bootstrap, topic, dlq, group, log=log,
                                effect_apart=effect_apart)
    try:
        await settle(lambda: _all_applied_or_exited(db, second), timeout=120)
        alive = second.proc.returncode is None
    finally:
        exit_code = await second.stop()
    return Run({e.id for e in events}, dlq, first.handled, claimed_when_killed, alive, exit_code)


async def _all_applied_or_exited(db: Db, worker: Worker) -> bool:
    return worker.proc.returncode is not None or (await tally(db)).events >= EVENTS


async def test_a_worker_killed_mid_batch_and_restarted_applies_every_event_once(
    db: Db, kafka_bootstrap: str, tmp_path: Path
) -> None:
    run = await _kill_mid_batch_and_restart(db, kafka_bootstrap, tmp_path / "workers.log",
                                            effect_apart=False)

    assert run.handled_by_killed > run.claimed_when_killed, "killed with a batch in hand"
    assert (run.successor_alive, run.successor_exit) == (True, 0)
    assert await figures(db, kafka_bootstrap, run.dlq, run.ids, []) == no_harm(EVENTS)


async def test_negative_control_an_effect_committed_apart_from_the_claim_is_applied_twice(
    db: Db, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """Shows the test above can fail: when the effect is committed in a transaction of its own,
    the killed batch's effects survive the rollback of its claims and are applied again."""
    run = await _kill_mid_batch_and_restart(db, kafka_bootstrap, tmp_path / "workers.log",
                                            effect_apart=True)

    assert run.handled_by_killed > run.claimed_when_killed
    assert (await tally(db)).doubled > 0
