"""Long-running child processes of the stack (APIs, workers, SMTP) and one-shot commands.

Contract: a `Child` runs in its own session (so its process group is its own and a terminal's
Ctrl-C reaches only `devstack run`), with stdout and stderr appended to its log file (never
truncated; rotated by size, see `devstack.logs`) and SIGTERM delivered if `devstack run` dies.
`stop_children` signals every group with SIGTERM at once, waits up to `timeout`, then SIGKILLs
the groups still alive. `run_command` runs a one-shot command to completion with its output
appended to a log file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from devstack.logs import RotatingLog, marker, pump, rotate_if_large
from devstack.processes import kill_group, log_tail, parent_death_signal, signal_group
from devstack.supervisor import Supervision


class CommandFailed(RuntimeError):
    """A one-shot command exited non-zero; `log_file` holds its output."""

    def __init__(self, what: str, log_file: Path) -> None:
        super().__init__(what)
        self.log_file = log_file


class Child:
    """One supervised process; `name` is what the user reads (e.g. `identity-api`).

    Its output goes through a pipe into `log` (appended, rotated by size), preceded by a marker
    line at every start. `start()` may be called again once the process has exited: that is a
    restart, counted in `restarts`. The supervision fields (`status`, `last_exit`, ...) are
    kept by `devstack.supervisor.Supervisor`.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        log_file: Path,
        cwd: Path,
        marker: str | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.log_file = log_file
        self.log = RotatingLog(log_file)
        self.cwd = cwd
        self.marker = marker or name
        self.proc: subprocess.Popen[bytes] | None = None
        self.supervision = Supervision()
        self._pumps: list[threading.Thread] = []

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def start(self, note: str | None = None) -> None:
        """Launch the process (must be called from the main thread, see `parent_death_signal`).

        `note` (default `starting <name>`) and the pid make the marker line written to the log
        before the process's output.
        """
        read_fd, write_fd = os.pipe()
        try:
            proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=write_fd,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=parent_death_signal(signal.SIGTERM),
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self.log.mark(f"{note or 'starting ' + self.name} (pid {proc.pid})")
        self.proc = proc
        self._pumps = [t for t in self._pumps if t.is_alive()]
        self._pumps.append(pump(read_fd, self.log, self.name))
        self.supervision.started(time.monotonic())

    def returncode(self) -> int | None:
        """None while running (or never started), else the exit status."""
        return None if self.proc is None else self.proc.poll()

    def exit_reason(self) -> str | None:
        """None while running, else e.g. `was killed by SIGKILL`."""
        code = self.returncode()
        return None if code is None else describe_exit(code)

    def running_pid(self) -> int | None:
        return self.pid if self.returncode() is None else None

    async def restart(self, note: str) -> None:
        self.start(note)

    def note(self, text: str) -> None:
        self.log.mark(text)

    def tail(self, lines: int = 30) -> str:
        return log_tail(self.log_file, lines)

    def close(self, timeout: float = 2.0) -> None:
        """Wait (briefly) for the output of an exited process to reach the log, then close it."""
        deadline = time.monotonic() + timeout
        for thread in self._pumps:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.log.close()


def stop_children(children: Sequence[Child], timeout: float = 10.0) -> list[str]:
    """SIGTERM every running child's group, then SIGKILL what is left after `timeout`.

    Blocking. Returns the names of the children that had to be killed.
    """
    running = [c for c in children if c.proc is not None and c.proc.poll() is None]
    for child in running:
        assert child.proc is not None
        signal_group(child.proc, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    killed: list[str] = []
    for child in running:
        assert child.proc is not None
        try:
            child.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            kill_group(child.proc)
            killed.append(child.name)
    for child in children:
        child.supervision.status = "stopped"
        child.close()
    return killed


def terminate_pid(pid: int, timeout: float = 10.0) -> bool:
    """SIGTERM `pid`'s process group (or `pid` alone when it leads none), SIGKILL after `timeout`.

    For leftovers of a killed stack, which are not our children: polls instead of waiting.
    Returns True when the process is gone.
    """
    leads_group = _pgid(pid) == pid
    _signal(pid, signal.SIGTERM, leads_group)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.1)
    _signal(pid, signal.SIGKILL, leads_group)
    time.sleep(0.2)
    return _gone(pid)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _signal(pid: int, sig: signal.Signals, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"  # a zombie waits only for its reaper


async def run_command(
    argv: Sequence[str], *, env: Mapping[str, str], log_file: Path, cwd: Path, what: str
) -> None:
    """Run `argv` to completion with output in `log_file`; raise `CommandFailed` on non-zero.

    Cancellation kills the command's process group and reaps it before re-raising.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    rotate_if_large(log_file)
    with log_file.open("ab") as log:
        log.write(marker(f"running {what}"))
        log.flush()
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
        try:
            code = await proc.wait()
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            raise
    if code != 0:
        raise CommandFailed(f"{what} {describe_exit(code)}", log_file)


def describe_exit(code: int) -> str:
    """`exited with code 1` or, for a negative status, `was killed by SIGKILL`."""
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"
