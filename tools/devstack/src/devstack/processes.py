"""Helpers shared by the server wrappers: log tails, process-group signalling, parent-death signal.

Nothing here starts a process; callers own the `subprocess.Popen` objects they pass in.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def log_tail(path: Path, lines: int = 40) -> str:
    """Return the last `lines` lines of a log file, or a note that it does not exist."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log file at {path})"
    return "\n".join(text.splitlines()[-lines:])


def log_errors(path: Path, since: str | None = None, limit: int = 8) -> list[str]:
    """The first `limit` lines mentioning ERROR/FATAL/"Caused by" after the last `since` line."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return []
    if since is not None:
        starts = [i for i, line in enumerate(lines) if since in line]
        if starts:
            lines = lines[starts[-1] :]
    markers = (" ERROR ", "FATAL", "Caused by:")
    return [line for line in lines if any(m in line for m in markers)][:limit]


def signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Send `sig` to the process group led by `proc` (started with `start_new_session=True`).

    A group that has already exited is ignored.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def kill_group(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGKILL the group led by `proc` and reap it; safe to call on an exited process."""
    signal_group(proc, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout)


def parent_death_signal(sig: signal.Signals) -> Callable[[], None] | None:
    """Return a `preexec_fn` that makes the child receive `sig` when its parent thread dies.

    Linux only, and only when called from the main thread (the signal fires when the forking
    *thread* exits); otherwise returns None. A SIGKILLed test runner then still stops its broker.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name, use_errno=True)
    prctl = libc.prctl

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)

    return preexec
