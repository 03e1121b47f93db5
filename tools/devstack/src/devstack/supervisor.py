"""Restarting the stack's processes when they exit: exponential backoff, counted, logged.

Contract: a `Supervisor` watches `Supervised` members (children, and the broker and PostgreSQL
cluster the stack owns). A member that exits while the supervisor runs is restarted after a
delay that starts at `Backoff.initial` and doubles with every exit in a row up to
`Backoff.maximum`; a member that ran for `Backoff.stable_after` seconds starts over at the
initial delay. Every exit and restart is said on the stack's output (its log in `up` mode) and
in the member's own log, and counted in its `Supervision`. A file `hold/<name>` in the control
directory keeps that member down (for fault drills); a file `restore` makes every member that
waits for its restart start now (how `devstack up` restores a running stack). The supervisor
never restarts anything after `stop` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from devstack.state import ChildRecord

Status = Literal["starting", "running", "restarting", "held", "stopped"]
RESTORE_FILE = "restore"
HOLD_DIR = "hold"


@dataclass(frozen=True)
class Backoff:
    """Delays between restarts: `initial`, doubling per exit in a row, at most `maximum`."""

    initial: float = 1.0
    maximum: float = 30.0
    stable_after: float = 60.0

    def delay(self, failures: int) -> float:
        """The wait before restarting after the `failures`-th exit in a row (1-based)."""
        return min(self.maximum, self.initial * 2.0 ** max(0, failures - 1))


@dataclass
class Supervision:
    """What the supervisor knows about one member; `status` is what `devstack status` shows."""

    status: Status = "starting"
    restarts: int = 0
    last_exit: str | None = None
    last_exit_at: float | None = None
    failures: int = 0
    started_mono: float = 0.0
    restart_at: float = 0.0

    def started(self, now: float) -> None:
        self.status = "running"
        self.started_mono = now


class Supervised(Protocol):
    """A process the supervisor can watch and restart."""

    name: str
    marker: str  # a word of its command line, so a reused pid is never taken for it
    supervision: Supervision

    def exit_reason(self) -> str | None:
        """None while it runs, else why it stopped (e.g. `was killed by SIGKILL`)."""
        ...

    def running_pid(self) -> int | None: ...

    async def restart(self, note: str) -> None:
        """Start it again; `note` is written as a marker line into its log. Raises on failure."""
        ...

    def note(self, text: str) -> None:
        """Append a marker line to its own log."""
        ...

    def tail(self, lines: int = 30) -> str: ...


class Supervisor:
    """Restarts the members that exit (see the module docstring)."""

    def __init__(
        self,
        *,
        say: Callable[[str], None],
        on_change: Callable[[], None] = lambda: None,
        backoff: Backoff | None = None,
        control_dir: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.members: list[Supervised] = []
        self.say = say
        self.on_change = on_change
        self.backoff = backoff or Backoff()
        self.control_dir = control_dir
        self.clock = clock
        self._restarts: set[asyncio.Task[None]] = set()
        self._last_pids: dict[str, int] = {}

    def add(self, member: Supervised) -> None:
        self.members.append(member)

    def records(self) -> list[ChildRecord]:
        """Each member as the state file lists it; a member waiting for its restart keeps the
        pid it last ran with (members that never ran are left out)."""
        records: list[ChildRecord] = []
        for member in self.members:
            pid = member.running_pid() or self._last_pids.get(member.name)
            if pid is None:
                continue
            self._last_pids[member.name] = pid
            sup = member.supervision
            records.append(ChildRecord(
                member.name, pid, member.marker, status=sup.status, restarts=sup.restarts,
                last_exit=sup.last_exit, last_exit_at=sup.last_exit_at,
            ))
        return records

    def check(self) -> None:
        """One pass: note every exit, start every restart that is due. Needs a running loop."""
        if self._take_restore_request():
            self.restore_now()
        now = self.clock()
        changed = False
        for member in self.members:
            sup = member.supervision
            if sup.status == "running":
                reason = member.exit_reason()
                if reason is None:
                    if sup.failures and now - sup.started_mono >= self.backoff.stable_after:
                        sup.failures = 0
                    continue
                self._exited(member, reason, now)
                changed = True
            elif sup.status in ("restarting", "held"):
                held = self._held(member.name)
                if held != (sup.status == "held"):
                    sup.status = "held" if held else "restarting"
                    changed = True
                if not held and now >= sup.restart_at:
                    self._restart(member)
                    changed = True
        if changed:
            self.on_change()

    def restore_now(self) -> None:
        """Every member waiting for its restart is restarted at the next `check`."""
        for member in self.members:
            if member.supervision.status == "restarting":
                member.supervision.restart_at = 0.0

    async def run(self, stop: asyncio.Event, interval: float = 0.2) -> None:
        """`check` until `stop` is set, then cancel the restarts in flight."""
        try:
            while not stop.is_set():
                self.check()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval)
        finally:
            for task in self._restarts:
                task.cancel()
            await asyncio.gather(*self._restarts, return_exceptions=True)

    def _exited(self, member: Supervised, reason: str, now: float) -> None:
        sup = member.supervision
        ran = now - sup.started_mono
        if ran >= self.backoff.stable_after:
            sup.failures = 0
        sup.failures += 1
        delay = self.backoff.delay(sup.failures)
        sup.status = "held" if self._held(member.name) else "restarting"
        sup.restart_at = now + delay
        sup.last_exit = reason
        sup.last_exit_at = time.time()
        member.note(f"{member.name} {reason} after {ran:.1f}s; restarting it in {delay:g}s")
        self.say(
            f"\n!! {time.strftime('%H:%M:%S')} {member.name} {reason} after {ran:.1f}s; "
            f"restart #{sup.restarts + 1} in {delay:g}s"
            + (" (held: remove the hold file to let it start)" if sup.status == "held" else "")
        )
        if sup.failures == 1:
            self.say("\n".join(f"   | {line}" for line in member.tail(30).splitlines()))

    def _restart(self, member: Supervised) -> None:
        sup = member.supervision
        sup.status = "starting"
        sup.restarts += 1
        sup.started_mono = self.clock()  # a failed attempt is timed from here, not a stable run
        task = asyncio.create_task(self._run_restart(member, sup.restarts))
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    async def _run_restart(self, member: Supervised, number: int) -> None:
        sup = member.supervision
        try:
            await member.restart(
                f"restart #{number} of {member.name} (it {sup.last_exit or 'exited'})"
            )
        except asyncio.CancelledError:
            sup.status = "stopped"
            raise
        except Exception as exc:
            self._exited(member, f"could not be restarted ({_first_line(exc)})", self.clock())
        else:
            sup.started(self.clock())
            self.say(f"   {time.strftime('%H:%M:%S')} {member.name} restarted "
                     f"(pid {member.running_pid()}, restart #{number})")
        self.on_change()

    def _held(self, name: str) -> bool:
        return self.control_dir is not None and (self.control_dir / HOLD_DIR / name).exists()

    def _take_restore_request(self) -> bool:
        if self.control_dir is None:
            return False
        try:
            (self.control_dir / RESTORE_FILE).unlink()
        except FileNotFoundError:
            return False
        return True


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
