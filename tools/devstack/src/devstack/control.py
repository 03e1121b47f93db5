"""`devstack up`, `down`, `status` and `reset`: the stack as a background service.

Contract: `up` starts `devstack run --detached` (the long-lived supervisor) in a new session
with its output appended to `stack.log`, echoes what the log gains while it waits, and returns
0 once the state file says `ready` and 1 when the run failed or exited. On a running stack `up`
restores what is missing: it asks the supervisor to restart every exited process now (lifting
any hold) and waits until they run; when the supervisor itself is gone, it stops the leftovers
and starts the stack again. `up` is idempotent. `down` sends SIGTERM to the run, waits for its
teardown, SIGKILLs it after a timeout and then stops any leftovers; it is idempotent. `status`
never changes anything; it shows each process's supervision state, pid, restarts and last exit,
and says when the supervisor is dead. `reset` is `down` plus deleting the stack directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

import httpx

from devstack.children import terminate_pid
from devstack.config import LOOPBACK, StackConfig
from devstack.leftovers import stop_leftovers
from devstack.logs import marker, rotate_if_large
from devstack.progress import display, format_summary
from devstack.runner import prepare_stack_dir, report_running
from devstack.state import (
    ChildRecord,
    StackState,
    process_alive,
    read_state,
    remove_state,
    stack_alive,
)
from devstack.supervisor import HOLD_DIR, RESTORE_FILE

UP_TIMEOUT = 900.0  # the first run downloads Kafka's jars
DOWN_TIMEOUT = 90.0
RESTORE_TIMEOUT = 180.0  # a broker restart alone may take a minute on a slow machine


def up(config: StackConfig, environ: Mapping[str, str], out: TextIO) -> int:
    """Start the stack in the background, or restore what is missing of a running one."""
    state = read_state(config.state_file)
    if state is not None and stack_alive(state):
        if state.status != "ready":
            report_running(state, out)
            return 0
        return _restore(config, state, out)
    if state is not None:
        out.write(f"The stack's supervisor (pid {state.pid}) is gone: stopping what it left "
                  "and starting the stack again.\n")
    prepare_stack_dir(config.stack_dir)
    rotate_if_large(config.stack_log)
    with config.stack_log.open("ab") as log:
        log.write(marker("devstack up"))
        offset = log.tell()
        proc = subprocess.Popen(
            [sys.executable, "-m", "devstack", "run", "--detached"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(environ),
            start_new_session=True,
        )
    follower = _LogFollower(config.stack_log, out, offset)
    deadline = time.monotonic() + UP_TIMEOUT
    while time.monotonic() < deadline:
        follower.echo()
        code = proc.poll()
        state = read_state(config.state_file)
        if code is not None:
            follower.echo()
            if code == 0 and state is not None and stack_alive(state):
                return 0  # another stack won the race; the run said so in its log
            out.write(f"devstack run exited with code {code}; log: {display(config.stack_log)}\n")
            return 1
        if state is not None and state.pid == proc.pid and state.status == "ready":
            follower.echo()
            out.write(f"The stack runs in the background (pid {proc.pid}, log "
                      f"{display(config.stack_log)}); `make down` stops it.\n")
            return 0
        time.sleep(0.2)
    out.write(f"The stack was not ready after {UP_TIMEOUT:.0f}s; stopping it.\n")
    down(config, out)
    return 1


def missing_processes(state: StackState) -> list[ChildRecord]:
    """The stack's processes that are not running right now (exited, restarting, held)."""
    return [c for c in state.children if not _is_up(c)]


def _is_up(record: ChildRecord) -> bool:
    return record.status == "running" and process_alive(record.pid, record.marker)


def _restore(config: StackConfig, state: StackState, out: TextIO) -> int:
    """Ask the running supervisor to restart, now, every process it is missing; wait for it."""
    missing = missing_processes(state)
    if not missing:
        report_running(state, out)
        out.write("Every process of it is running; nothing to restore.\n")
        return 0
    names = [c.name for c in missing]
    out.write(f"The stack (pid {state.pid}) runs without {', '.join(names)}: restoring.\n")
    out.flush()
    shutil.rmtree(config.stack_dir / HOLD_DIR, ignore_errors=True)
    (config.stack_dir / RESTORE_FILE).touch()
    deadline = time.monotonic() + RESTORE_TIMEOUT
    while time.monotonic() < deadline:
        time.sleep(0.2)
        current = read_state(config.state_file)
        if current is None or not stack_alive(current):
            out.write("The stack stopped while restoring; `make up` starts it again.\n")
            return 1
        records = {c.name: c for c in current.children}
        if all(n in records and _is_up(records[n]) for n in names):
            for name in names:
                record = records[name]
                out.write(f"  {name:<22} running again (pid {record.pid}, "
                          f"{record.restarts} restart{'s' * (record.restarts != 1)})\n")
            return 0
    still = [c.name for c in missing_processes(read_state(config.state_file) or state)]
    out.write(f"Not restored within {RESTORE_TIMEOUT:.0f}s: {', '.join(still)}; "
              f"see `make status` and {display(config.logs_dir)}.\n")
    return 1


class _LogFollower:
    """Copies what a growing log file gains to `out`."""

    def __init__(self, path: Path, out: TextIO, offset: int = 0) -> None:
        self.path = path
        self.out = out
        self.offset = offset

    def echo(self) -> None:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return
        self.offset += len(data)
        if data:
            self.out.write(data.decode(errors="replace"))
            self.out.flush()


def down(config: StackConfig, out: TextIO, timeout: float = DOWN_TIMEOUT) -> int:
    """Stop the running stack (and leftovers of a dead one); 0 also when nothing runs."""
    state = read_state(config.state_file)
    if state is None or not stack_alive(state):
        stopped = stop_leftovers(config, state)
        remove_state(config.state_file)
        out.write(f"No stack is running in {display(config.stack_dir)}.\n")
        if stopped:
            out.write(f"Stopped leftovers of a stack that died: {', '.join(stopped)}.\n")
        return 0
    begun = time.monotonic()
    out.write(f"Stopping the stack (pid {state.pid}) ...\n")
    out.flush()
    os.kill(state.pid, signal.SIGTERM)
    while time.monotonic() - begun < timeout and process_alive(state.pid, "devstack"):
        time.sleep(0.2)
    if process_alive(state.pid, "devstack"):
        out.write(f"It did not stop within {timeout:.0f}s: killing it.\n")
        terminate_pid(state.pid, timeout=1.0)
    stopped = stop_leftovers(config, state)
    remove_state(config.state_file)
    if stopped:
        out.write(f"Stopped leftovers: {', '.join(stopped)}.\n")
    out.write(f"Stopped in {time.monotonic() - begun:.1f}s.\n")
    return 0


def status(config: StackConfig, out: TextIO) -> int:
    """Print what runs and where: each process's state, pid, restarts and last exit, and each
    API's /readyz; says so when the supervisor itself is gone. Always 0."""
    state = read_state(config.state_file)
    if state is None:
        out.write(f"No stack is running in {display(config.stack_dir)}.\n")
        return 0
    supervised = stack_alive(state)
    if not supervised:
        out.write(f"The stack's supervisor (pid {state.pid}, `devstack run`) is not running: "
                  "nothing restarts its processes. `make up` restores the stack, "
                  "`make down` stops what is left.\n")
    else:
        since = time.strftime("%H:%M:%S", time.localtime(state.started_at))
        uptime = time.time() - (state.ready_at or state.started_at)
        out.write(f"Stack pid {state.pid}: {state.status} (started {since}, "
                  f"{'up' if state.ready_at else 'for'} {uptime:.0f}s)\n")
        if state.summary:
            out.write(format_summary(state.summary) + "\n")
    if state.children:
        out.write("Processes:\n")
        out.write(f"  {'NAME':<22} {'STATE':<11} {'PID':<8} {'RESTARTS':<9} LAST EXIT\n")
        for record in state.children:
            out.write(f"  {record.name:<22} {_state_of(record, supervised):<11} "
                      f"{record.pid:<8} {record.restarts:<9} {_last_exit(record)}\n")
    if supervised and state.apis:
        out.write("Readiness (and what is stuck):\n")
        with httpx.Client(timeout=3.0) as client:
            for name, base in state.apis.items():
                out.write(f"  {name:<22} {base}/readyz  {_probe(client, base + '/readyz')}\n")
            for service in config.services:
                url = f"http://{LOOPBACK}:{service.metrics_port}/readyz"
                out.write(f"  {service.name + '-worker':<22} {url}  {_probe(client, url)}\n")
    return 0


def _state_of(record: ChildRecord, supervised: bool) -> str:
    alive = process_alive(record.pid, record.marker)
    if not supervised:
        return "running" if alive else "EXITED"
    if record.status == "running" and not alive:
        return "exited"  # the supervisor has not noticed yet
    return record.status


def _last_exit(record: ChildRecord) -> str:
    if record.last_exit is None:
        return "-"
    if record.last_exit_at is None:
        return record.last_exit
    at = time.strftime("%H:%M:%S", time.localtime(record.last_exit_at))
    return f"{record.last_exit} at {at}"


def _probe(client: httpx.Client, url: str) -> str:
    """The status code, plus what a readiness body says is wrong: stalled sagas of an API,
    the dependency a worker waits for, a worker without partitions."""
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        return f"unreachable ({type(exc).__name__})"
    try:
        body = response.json()
    except ValueError:
        body = None
    notes: list[str] = []
    if isinstance(body, dict):
        stalled = body.get("stalled_sagas") or {}
        if isinstance(stalled, dict):
            notes += [f"STALLED {kind}: {count}" for kind, count in stalled.items() if count]
        waiting = body.get("waiting_for") or {}
        if isinstance(waiting, dict):
            notes += [f"{part} waits for {dependency}" for part, dependency in waiting.items()]
        if body.get("consumer_assigned") is False:
            notes.append("no partitions assigned")
    return " ".join([str(response.status_code), *(f"({note})" for note in notes)])


def reset(config: StackConfig, out: TextIO) -> int:
    """`down`, then delete the stack directory (data, logs, mail); the jar cache stays."""
    down(config, out)
    if config.stack_dir.exists():
        shutil.rmtree(config.stack_dir)
        out.write(f"Deleted {display(config.stack_dir)}.\n")
    return 0
