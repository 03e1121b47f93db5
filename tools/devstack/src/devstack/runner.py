"""`devstack run`: start the stack in the foreground, supervise it, stop it on a signal.

Contract: at most one `devstack run` per stack directory - it holds an exclusive flock on
`stack.lock` for its whole life and publishes its pid and status in `stack.json`. Once the stack
is ready it supervises it: whatever exits is restarted with backoff (`devstack.supervisor`).
A second run reports the running one and exits 0. A stale state file (its process is gone) is
removed after stopping the leftovers it lists. SIGINT, SIGTERM and SIGHUP stop everything this
run started and nothing else, then the run exits 0; a failed start exits 1 after the same
teardown.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import signal
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from devstack.config import LOOPBACK, StackConfig
from devstack.leftovers import stop_leftovers
from devstack.ports import port_is_free
from devstack.progress import Progress, StackFailed, display, format_summary
from devstack.stack import STEPS, Stack
from devstack.state import StackState, read_state, remove_state, stack_alive, write_state
from devstack.supervisor import HOLD_DIR, RESTORE_FILE

_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def prepare_stack_dir(path: Path) -> None:
    """Create the stack directory, searchable by the `postgres` user (the cluster lives inside)."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o755)


def report_running(state: StackState | None, out: TextIO) -> None:
    """Tell the user a stack already runs here, with its addresses when it is ready."""
    if state is None:
        out.write("A stack from this checkout is already running (state not written yet).\n")
        return
    since = time.strftime("%H:%M:%S", time.localtime(state.ready_at or state.started_at))
    out.write(f"A stack from this checkout is already running (pid {state.pid}, "
              f"{state.status} since {since}); not starting a second one.\n")
    if state.summary:
        out.write(format_summary(state.summary) + "\n")
    out.flush()


def port_problems(config: StackConfig) -> list[str]:
    """Duplicate or busy ports, each with the variable that moves it."""
    problems = config.duplicate_ports()
    for claim in config.bound_ports():
        if not port_is_free(claim.port, LOOPBACK):
            problems.append(
                f"port {claim.port} ({claim.owner}) is already in use on {LOOPBACK}: "
                f"stop what uses it or set {claim.env_var} to another port"
            )
    return problems


def run(config: StackConfig, environ: Mapping[str, str], out: TextIO, *, detached: bool) -> int:
    """The body of `devstack run`; returns the exit status."""
    prepare_stack_dir(config.stack_dir)
    with config.lock_file.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            report_running(read_state(config.state_file), out)
            return 0
        return _run_locked(config, environ, out, detached)


def _run_locked(
    config: StackConfig, environ: Mapping[str, str], out: TextIO, detached: bool
) -> int:
    previous = read_state(config.state_file)
    if previous is not None and stack_alive(previous):
        report_running(previous, out)
        return 0
    stopped = stop_leftovers(config, previous)
    if previous is not None:
        remove_state(config.state_file)
        out.write(f"Removed the stale state of a stack that is gone (pid {previous.pid}).\n")
    if stopped:
        out.write(f"Stopped its leftovers: {', '.join(stopped)}.\n")
    problems = port_problems(config)
    if problems:
        out.write("Cannot start the stack:\n" + "".join(f"  - {p}\n" for p in problems))
        out.flush()
        return 1
    # Holds and restore requests were meant for the stack that is gone.
    shutil.rmtree(config.stack_dir / HOLD_DIR, ignore_errors=True)
    (config.stack_dir / RESTORE_FILE).unlink(missing_ok=True)
    write_state(config.state_file, StackState(pid=os.getpid()))
    try:
        return asyncio.run(_main(config, environ, out, detached))
    finally:
        remove_state(config.state_file)


async def _main(
    config: StackConfig, environ: Mapping[str, str], out: TextIO, detached: bool
) -> int:
    progress = Progress(STEPS, out)
    state = StackState(pid=os.getpid())

    def save() -> None:
        state.children = stack.records()
        write_state(config.state_file, state)

    stack = Stack(config, progress, environ, on_change=save)
    stop = asyncio.Event()
    begun = time.monotonic()
    progress.say(f"Starting the local stack in {display(config.stack_dir)} (pid {os.getpid()})")
    start_task = asyncio.create_task(stack.start())

    stopping_since: list[float] = []

    def on_signal(sig: signal.Signals) -> None:
        if stopping_since:
            # `make`, `uv` and the terminal may each deliver the same Ctrl-C: say so only later.
            if time.monotonic() - stopping_since[0] > 1.0:
                progress.say(f"{sig.name}: already stopping")
            return
        stopping_since.append(time.monotonic())
        progress.say(f"\n{sig.name} received: stopping everything this stack started")
        stop.set()
        start_task.cancel()

    loop = asyncio.get_running_loop()
    for sig in _SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    code = 0
    try:
        try:
            await start_task
        except asyncio.CancelledError:
            if not stop.is_set():
                raise
        except StackFailed as exc:
            state.status, state.error, code = "failed", str(exc), 1
            save()
        except Exception as exc:
            progress.say("".join(traceback.format_exception(exc)))
            state.status, state.error, code = "failed", f"{type(exc).__name__}: {exc}", 1
            save()
        else:
            state.status, state.ready_at = "ready", time.time()
            state.summary = stack.summary()
            state.apis = {s.name: s.base_url for s in config.services}
            save()
            progress.say(f"\nStack ready in {time.monotonic() - begun:.1f}s:")
            progress.say(format_summary(state.summary))
            progress.say("`make down` (devstack down) stops everything." if detached
                         else "Ctrl-C stops everything.")
            await stack.supervise(stop)
    finally:
        if state.status != "failed":
            state.status = "stopping"
            save()
        await stack.shutdown()
        progress.say("Start-up failed; everything it started is stopped." if code
                     else "Everything stopped.")
    return code
