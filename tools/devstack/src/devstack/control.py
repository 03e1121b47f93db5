"""`devstack up`, `down`, `status` and `reset`: the stack as a background service.

Contract: `up` starts `devstack run --detached` in a new session with its output in
`stack.log`, echoes that log while it waits, and returns 0 once the state file says `ready`
(or a stack was already running) and 1 when the run failed or exited. `down` sends SIGTERM to
the run, waits for its teardown, SIGKILLs it after a timeout and then stops any leftovers; it is
idempotent. `status` never changes anything. `reset` is `down` plus deleting the stack directory.
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
from devstack.config import StackConfig
from devstack.leftovers import stop_leftovers
from devstack.progress import display, format_summary
from devstack.runner import prepare_stack_dir, report_running
from devstack.state import process_alive, read_state, remove_state, stack_alive

UP_TIMEOUT = 900.0  # the first run downloads Kafka's jars
DOWN_TIMEOUT = 90.0


def up(config: StackConfig, environ: Mapping[str, str], out: TextIO) -> int:
    """Start the stack in the background and wait until it is ready or has failed."""
    state = read_state(config.state_file)
    if state is not None and stack_alive(state):
        report_running(state, out)
        return 0
    prepare_stack_dir(config.stack_dir)
    with config.stack_log.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "devstack", "run", "--detached"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(environ),
            start_new_session=True,
        )
    follower = _LogFollower(config.stack_log, out)
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


class _LogFollower:
    """Copies what a growing log file gains to `out`."""

    def __init__(self, path: Path, out: TextIO) -> None:
        self.path = path
        self.out = out
        self.offset = 0

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
    """Print what runs and where, with each API's /readyz; always 0."""
    state = read_state(config.state_file)
    if state is None or not stack_alive(state):
        note = " (a stale state file is left; `make down` cleans it up)" if state else ""
        out.write(f"No stack is running in {display(config.stack_dir)}{note}.\n")
        return 0
    since = time.strftime("%H:%M:%S", time.localtime(state.started_at))
    uptime = time.time() - (state.ready_at or state.started_at)
    out.write(f"Stack pid {state.pid}: {state.status} (started {since}, "
              f"{'up' if state.ready_at else 'for'} {uptime:.0f}s)\n")
    if state.summary:
        out.write(format_summary(state.summary) + "\n")
    out.write("Processes:\n")
    for record in state.children:
        alive = "running" if process_alive(record.pid, record.marker) else "EXITED"
        out.write(f"  {record.name:<22} pid {record.pid:<8} {alive}\n")
    if state.apis:
        out.write("Readiness:\n")
        with httpx.Client(timeout=3.0) as client:
            for name, base in state.apis.items():
                out.write(f"  {name:<22} {base}/readyz  {_probe(client, base + '/readyz')}\n")
    return 0


def _probe(client: httpx.Client, url: str) -> str:
    try:
        return str(client.get(url).status_code)
    except httpx.HTTPError as exc:
        return f"unreachable ({type(exc).__name__})"


def reset(config: StackConfig, out: TextIO) -> int:
    """`down`, then delete the stack directory (data, logs, mail); the jar cache stays."""
    down(config, out)
    if config.stack_dir.exists():
        shutil.rmtree(config.stack_dir)
        out.write(f"Deleted {display(config.stack_dir)}.\n")
    return 0
