"""The state file of a running `devstack run` (`<stack dir>/stack.json`) and liveness checks.

Contract: the file is written atomically (temp file + rename) by the `devstack run` process only,
whenever a process starts, exits or is restarted, and removed by it when it has stopped
everything. A state file whose `pid` is gone, or belongs
to a process that is not `devstack`, is stale. `children` records every process the stack
started (with a word of its command line), so leftovers of a killed stack can be found again
without ever signalling a pid that was reused by an unrelated process.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, cast

Status = Literal["starting", "ready", "failed", "stopping"]
_STATUSES: tuple[Status, ...] = ("starting", "ready", "failed", "stopping")
_RUN_MARKER = b"devstack"


@dataclass(frozen=True)
class ChildRecord:
    """A process the stack started: its name, pid, and a word its command line contains.

    `status` is the supervisor's view (`running`, `starting`, `restarting`, `held`, `stopped`);
    `pid` is the current process's while `running`, else the last one's. `restarts` counts the
    restarts since the stack started; `last_exit` says why the process last stopped.
    """

    name: str
    pid: int
    marker: str
    status: str = "running"
    restarts: int = 0
    last_exit: str | None = None
    last_exit_at: float | None = None


@dataclass
class StackState:
    """What `devstack up`, `status` and `down` learn about a running stack."""

    pid: int
    status: Status = "starting"
    started_at: float = field(default_factory=time.time)
    ready_at: float | None = None
    error: str | None = None
    summary: list[tuple[str, str]] = field(default_factory=list)
    apis: dict[str, str] = field(default_factory=dict)
    children: list[ChildRecord] = field(default_factory=list)


def write_state(path: Path, state: StackState) -> None:
    """Replace the state file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(json.dumps(asdict(state), indent=2) + "\n")
    os.replace(temp, path)


def read_state(path: Path) -> StackState | None:
    """The state in `path`, or None when there is none or it cannot be parsed."""
    try:
        raw = json.loads(path.read_text())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("pid"), int):
        return None
    status = raw.get("status")
    return StackState(
        pid=raw["pid"],
        status=cast(Status, status) if status in _STATUSES else "failed",
        started_at=float(raw.get("started_at") or 0.0),
        ready_at=float(raw["ready_at"]) if raw.get("ready_at") is not None else None,
        error=str(raw["error"]) if raw.get("error") is not None else None,
        summary=[(str(k), str(v)) for k, v in raw.get("summary") or []],
        apis={str(k): str(v) for k, v in (raw.get("apis") or {}).items()},
        children=[_child(c) for c in raw.get("children") or []],
    )


def _child(raw: dict[str, object]) -> ChildRecord:
    last_exit, last_exit_at = raw.get("last_exit"), raw.get("last_exit_at")
    return ChildRecord(
        name=str(raw["name"]),
        pid=int(cast(int, raw["pid"])),
        marker=str(raw["marker"]),
        status=str(raw.get("status") or "running"),
        restarts=int(cast(int, raw.get("restarts") or 0)),
        last_exit=None if last_exit is None else str(last_exit),
        last_exit_at=None if last_exit_at is None else float(cast(float, last_exit_at)),
    )


def find_child(state: StackState, name: str) -> ChildRecord | None:
    """The record of `name` (e.g. `payment-worker`, `kafka`, `postgresql`), if the stack has it."""
    return next((c for c in state.children if c.name == name), None)


def remove_state(path: Path) -> None:
    path.unlink(missing_ok=True)


def process_cmdline(pid: int) -> bytes | None:
    """The NUL-separated command line of `pid`, or None when no such process exists."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def process_alive(pid: int, marker: str | bytes) -> bool:
    """True when `pid` exists, is not a zombie, and its command line contains `marker`."""
    cmdline = process_cmdline(pid)
    if not cmdline:  # zombies have an empty command line
        return False
    word = marker.encode() if isinstance(marker, str) else marker
    return word in cmdline


def stack_alive(state: StackState) -> bool:
    """True when the state's `devstack run` process still runs."""
    return process_alive(state.pid, _RUN_MARKER)
