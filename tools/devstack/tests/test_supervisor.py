"""The stack's supervisor with trivial child processes: a process that dies comes back, with
growing backoff, counted in `devstack status`, its log kept; `devstack up` restores a dead one.

No servers: each test supervises `python -c ...` children in a temporary stack directory. A
sleeping process whose command line names `devstack` stands in for the `devstack run` process
the state file points at, so `status` and `up` treat the in-test supervisor as alive.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack import control
from devstack.children import Child, run_command, stop_children
from devstack.config import StackConfig
from devstack.liveness import LivenessWatch
from devstack.logs import RotatingLog
from devstack.paths import repo_root
from devstack.ports import free_port
from devstack.state import (
    ChildRecord,
    StackState,
    find_child,
    process_alive,
    read_state,
    write_state,
)
from devstack.supervisor import HOLD_DIR, Backoff, Supervision, Supervisor

SLEEPER = "import os, time; print('run of pid', os.getpid(), flush=True); time.sleep(300)"


async def eventually(predicate: Callable[[], bool], what: str, limit: float = 20.0) -> None:
    """Wait until `predicate()` holds; fail naming `what` after `limit` seconds."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
def stand_in() -> Iterator[int]:
    """The pid of a live process that `stack_alive` takes for `devstack run`."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", "devstack"])
    yield proc.pid
    proc.kill()
    proc.wait()


@dataclass
class Rig:
    config: StackConfig
    supervisor: Supervisor
    said: list[str]

    def child(self, name: str, code: str = SLEEPER) -> Child:
        child = Child(name, [sys.executable, "-c", code, name], env=dict(os.environ),
                      log_file=self.config.logs_dir / f"{name}.log", cwd=self.config.stack_dir)
        child.start()
        self.supervisor.add(child)
        self.supervisor.on_change()
        return child

    def record(self, name: str) -> tuple[str, int, int]:
        """(status, pid, restarts) of `name` as the state file has it."""
        state = read_state(self.config.state_file)
        assert state is not None
        found = find_child(state, name)
        assert found is not None
        return found.status, found.pid, found.restarts

    def status(self) -> str:
        out = io.StringIO()
        assert control.status(self.config, out) == 0
        return out.getvalue()


def _rig(tmp_path: Path, supervisor_pid: int, backoff: Backoff) -> Rig:
    config = StackConfig.from_env({"CITY_STACK_DIR": str(tmp_path / "stack")}, repo_root())
    config.stack_dir.mkdir(parents=True)
    said: list[str] = []

    def save() -> None:
        write_state(config.state_file, StackState(
            pid=supervisor_pid, status="ready", children=rig.supervisor.records()))

    rig = Rig(config, Supervisor(say=said.append, on_change=save, backoff=backoff,
                                 control_dir=config.stack_dir), said)
    return rig


@pytest.fixture
async def running(tmp_path: Path, stand_in: int) -> AsyncIterator[Rig]:
    """A supervisor checking every 20 ms; its children are stopped afterwards."""
    rig = _rig(tmp_path, stand_in, Backoff(initial=0.2, maximum=1.0, stable_after=60.0))
    stop = asyncio.Event()
    task = asyncio.create_task(rig.supervisor.run(stop, interval=0.02))
    yield rig
    stop.set()
    await task
    stop_children([m for m in rig.supervisor.members if isinstance(m, Child)], timeout=5)


async def test_a_child_killed_with_sigkill_is_restarted_and_status_counts_it(running: Rig) -> None:
    child = running.child("payment-worker")
    first = child.pid
    assert first is not None
    await eventually(lambda: "payment-worker         running     " in running.status(), "running")

    os.killpg(first, signal.SIGKILL)
    await eventually(lambda: running.record("payment-worker")[0] == "running"
                     and running.record("payment-worker")[1] != first, "a new pid, running")

    _, pid, restarts = running.record("payment-worker")
    assert restarts == 1
    await eventually(lambda: process_alive(pid, "payment-worker"), "the new process runs")
    row = next(line for line in running.status().splitlines()
               if line.strip().startswith("payment-worker"))
    assert row.split()[:4] == ["payment-worker", "running", str(pid), "1"]
    assert "was killed by SIGKILL at" in row
    assert any("payment-worker was killed by SIGKILL" in line for line in running.said)


async def test_the_log_keeps_the_previous_run_and_marks_the_restart(running: Rig) -> None:
    child = running.child("case-api")
    first = child.pid
    assert first is not None
    log = running.config.logs_dir / "case-api.log"
    await eventually(lambda: f"run of pid {first}" in log.read_text(), "the first run's line")

    os.killpg(first, signal.SIGKILL)
    await eventually(lambda: child.pid != first and f"run of pid {child.pid}" in log.read_text(),
                     "the second run's line")

    lines = log.read_text().splitlines()
    first_run = lines.index(f"run of pid {first}")
    restart = next(i for i, line in enumerate(lines) if "restart #1 of case-api" in line)
    assert first_run < restart < lines.index(f"run of pid {child.pid}")
    assert "it was killed by SIGKILL" in lines[restart]


async def test_a_child_that_crashes_at_once_is_restarted_with_growing_backoff(
    tmp_path: Path, stand_in: int
) -> None:
    now = [1000.0]
    rig = _rig(tmp_path, stand_in, Backoff(initial=1.0, maximum=8.0, stable_after=60.0))
    rig.supervisor.clock = lambda: now[0]
    child = rig.child("ticketing-worker", "import sys; print('boom', flush=True); sys.exit(3)")
    delays: list[float] = []
    for _ in range(6):
        assert child.proc is not None
        child.proc.wait(10)
        rig.supervisor.check()
        sup = child.supervision  # the same object on every turn
        assert sup.status == "restarting"
        delays.append(sup.restart_at - now[0])
        now[0] += delays[-1] - 0.01
        rig.supervisor.check()
        assert sup.status == "restarting"  # not before its delay: no hot loop
        now[0] += 0.01
        rig.supervisor.check()
        await eventually(lambda: child.supervision.status == "running", "the restart")

    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert child.supervision.restarts == 6
    assert child.supervision.last_exit == "exited with code 3"
    assert child.proc is not None
    child.proc.wait(10)
    stop_children([child], timeout=5)  # waits for the last run's output to reach the log
    assert (rig.config.logs_dir / "ticketing-worker.log").read_text().count("boom") == 7
    tails = [line for line in rig.said if "| boom" in line]
    assert len(tails) == 1  # the log tail is shown for the first crash of a series only


async def test_backoff_starts_over_after_a_stable_run(tmp_path: Path, stand_in: int) -> None:
    now = [0.0]
    rig = _rig(tmp_path, stand_in, Backoff(initial=1.0, maximum=8.0, stable_after=60.0))
    rig.supervisor.clock = lambda: now[0]
    child = rig.child("identity-api")
    for expected in (1.0, 2.0, 1.0):
        if expected == 1.0 and child.supervision.restarts:
            now[0] += 60.0  # the restarted process ran stably before it died
        assert child.pid is not None
        os.killpg(child.pid, signal.SIGKILL)
        assert child.proc is not None
        child.proc.wait(10)
        rig.supervisor.check()
        assert child.supervision.restart_at - now[0] == expected
        now[0] = child.supervision.restart_at
        rig.supervisor.check()
        await eventually(lambda: child.supervision.status == "running", "the restart")
    stop_children([child], timeout=5)


async def test_up_on_a_stack_with_a_dead_child_restores_it(
    tmp_path: Path, stand_in: int
) -> None:
    # The next restart would be an hour away: only `up` can bring it back within the test.
    rig = _rig(tmp_path, stand_in, Backoff(initial=3600.0, maximum=3600.0))
    stop = asyncio.Event()
    task = asyncio.create_task(rig.supervisor.run(stop, interval=0.02))
    try:
        worker, api = rig.child("payment-worker"), rig.child("payment-api")
        assert worker.pid is not None
        os.killpg(worker.pid, signal.SIGKILL)
        await eventually(lambda: rig.record("payment-worker")[0] == "restarting", "noticed")
        assert "payment-worker         restarting" in rig.status()

        out = io.StringIO()
        code = await asyncio.to_thread(control.up, rig.config, os.environ, out)

        assert code == 0, out.getvalue()
        assert "runs without payment-worker: restoring" in out.getvalue()
        status, pid, restarts = rig.record("payment-worker")
        assert (status, restarts) == ("running", 1)
        assert process_alive(pid, "payment-worker")
        assert rig.record("payment-api")[2] == 0

        again = io.StringIO()
        assert await asyncio.to_thread(control.up, rig.config, os.environ, again) == 0
        assert "nothing to restore" in again.getvalue()
        assert rig.record("payment-worker")[1:] == (pid, 1)
    finally:
        stop.set()
        await task
        stop_children([worker, api], timeout=5)


async def test_a_held_child_stays_down_until_the_hold_is_lifted(running: Rig) -> None:
    child = running.child("kafka-stand-in")
    hold = running.config.stack_dir / HOLD_DIR / "kafka-stand-in"
    hold.parent.mkdir()
    hold.touch()
    first = child.pid
    assert first is not None
    os.killpg(first, signal.SIGKILL)
    await eventually(lambda: running.record("kafka-stand-in")[0] == "held", "held")
    await asyncio.sleep(0.5)  # longer than the 0.2 s backoff: the hold, not the delay, keeps it
    assert running.record("kafka-stand-in")[:2] == ("held", first)

    hold.unlink()
    await eventually(lambda: running.record("kafka-stand-in")[0] == "running", "restarted")
    assert running.record("kafka-stand-in")[2] == 1


def test_status_says_when_the_supervisor_itself_is_gone(tmp_path: Path) -> None:
    config = StackConfig.from_env({"CITY_STACK_DIR": str(tmp_path)}, repo_root())
    gone = subprocess.Popen(["true"])
    gone.wait()
    sleeper = subprocess.Popen([sys.executable, "-c", SLEEPER, "smtp"], stdout=subprocess.PIPE)
    try:
        assert sleeper.stdout is not None
        sleeper.stdout.readline()  # it runs (a process that has not exec'd yet looks like us)
        write_state(config.state_file, StackState(pid=gone.pid, status="ready", children=[]))
        state = read_state(config.state_file)
        assert state is not None
        state.children = [ChildRecord("smtp", sleeper.pid, "smtp"),
                          ChildRecord("payment-worker", gone.pid, "payment-worker")]
        write_state(config.state_file, state)
        out = io.StringIO()
        control.status(config, out)
    finally:
        sleeper.kill()
        sleeper.wait()
    text = out.getvalue()
    assert f"supervisor (pid {gone.pid}, `devstack run`) is not running" in text
    assert "`make up` restores the stack" in text
    rows = {line.split()[0]: line.split()[1] for line in text.splitlines()[3:]}
    assert rows == {"smtp": "running", "payment-worker": "EXITED"}


# -- logs ----------------------------------------------------------------------------------------


def test_a_log_rotates_by_size_and_keeps_three_old_files(tmp_path: Path) -> None:
    path = tmp_path / "notification-worker.log"
    log = RotatingLog(path, max_bytes=1000, keep=3)
    lines = [f"line {n:04d} {'x' * 40}\n".encode() for n in range(200)]  # ~10 files' worth
    for line in lines:
        log.write(line)
    log.close()
    files = [path, *(path.with_name(f"{path.name}.{n}") for n in (1, 2, 3))]
    assert all(f.exists() for f in files)
    assert not path.with_name(f"{path.name}.4").exists()
    assert all(f.stat().st_size <= 1000 for f in files)
    kept = b"".join(f.read_bytes() for f in reversed(files))
    assert kept == b"".join(lines[-len(kept.splitlines()):])  # the newest, in order, none lost

    RotatingLog(path, max_bytes=1000, keep=3).write(b"appended\n")
    assert path.read_bytes().endswith(lines[-1] + b"appended\n")


async def test_one_shot_command_logs_are_appended(tmp_path: Path) -> None:
    log = tmp_path / "identity-migrate.log"
    for word in ("first", "second"):
        await run_command([sys.executable, "-c", f"print('{word}')"], env=dict(os.environ),
                          log_file=log, cwd=tmp_path, what="migrations")
    text = log.read_text()
    assert text.index("first") < text.index("second")


class _Unstartable:
    """A server that died and fails every restart (as PostgreSQL may while its old backends
    still hold shared memory)."""

    name = "postgresql"
    marker = "postgres"

    def __init__(self) -> None:
        self.supervision = Supervision()
        self.attempts = 0

    def exit_reason(self) -> str | None:
        return "stopped (no postmaster)"

    def running_pid(self) -> int | None:
        return None

    async def restart(self, note: str) -> None:
        self.attempts += 1
        raise RuntimeError("pre-existing shared memory block is still in use\nmore")

    def note(self, text: str) -> None:
        pass

    def tail(self, lines: int = 30) -> str:
        return ""


async def test_a_failed_restart_counts_as_a_crash_and_backs_off_further() -> None:
    now = [0.0]
    said: list[str] = []
    supervisor = Supervisor(say=said.append, backoff=Backoff(1.0, 30.0, 60.0),
                            clock=lambda: now[0])
    server = _Unstartable()
    server.supervision.started(now[0] - 600)  # it ran for ten minutes, then died
    supervisor.add(server)
    delays: list[float] = []
    supervisor.check()
    for _ in range(4):
        delays.append(server.supervision.restart_at - now[0])
        now[0] = server.supervision.restart_at
        supervisor.check()
        await eventually(lambda: server.supervision.status == "restarting", "the failed attempt")
    assert delays == [1.0, 2.0, 4.0, 8.0]
    assert server.attempts == server.supervision.restarts == 4
    assert server.supervision.last_exit == (
        "could not be restarted (pre-existing shared memory block is still in use)")


HEALTH_SERVER = """
import http.server, os, sys
class Probe(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        stuck = os.path.exists(sys.argv[2])
        self.send_response(503 if stuck else 200)
        self.end_headers()
    def log_message(self, *args):
        pass
print('run of pid', os.getpid(), flush=True)
http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), Probe).serve_forever()
"""


async def test_a_child_whose_liveness_probe_keeps_failing_is_killed_and_restarted(
    running: Rig,
) -> None:
    port = free_port()
    stuck = running.config.stack_dir / "stuck"
    child = Child("ticketing-worker", [sys.executable, "-c", HEALTH_SERVER, str(port), str(stuck),
                                       "ticketing-worker"],
                  env=dict(os.environ), log_file=running.config.logs_dir / "ticketing-worker.log",
                  cwd=running.config.stack_dir)
    child.start()
    running.supervisor.add(child)
    first = child.pid
    watch = LivenessWatch([(child, f"http://127.0.0.1:{port}/healthz")], say=running.said.append,
                          interval=0.05, threshold=3, grace=0.0, timeout=1.0)
    stop = asyncio.Event()
    watching = asyncio.create_task(watch.run(stop))
    try:
        await asyncio.sleep(1.0)  # healthy: answered 200 many times, left alone
        assert child.pid == first
        assert child.supervision.restarts == 0

        stuck.touch()  # from now on it answers 503, as a worker whose consumer stopped beating
        await eventually(lambda: child.supervision.restarts == 1 and child.pid != first,
                         "killed and restarted")
        stuck.unlink()
        assert any("ticketing-worker failed its liveness probe 3 times" in line
                   for line in running.said)
        assert "failed its liveness probe" in (running.config.logs_dir
                                               / "ticketing-worker.log").read_text()
    finally:
        stop.set()
        await watching
