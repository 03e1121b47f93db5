"""Numbered, timed progress lines for the stack's start-up: `[3/8] what ... ok (1.2s)`.

Contract: `Progress.step()` prints the step's line when it begins and completes it with `ok`
and the elapsed time, or with `FAILED`, the reason and the tail of the log that explains it;
a failed step raises `StackFailed` (already reported, so callers do not print it again).
Output is flushed after every write so a detached run's log file shows progress as it happens.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TextIO

from devstack.children import CommandFailed
from devstack.kafka import KafkaError
from devstack.postgres import PostgresError
from devstack.processes import log_tail

_INDENT = "      "


class StepFailed(RuntimeError):
    """Raised inside a step: `reason` is one line, `log_file` (if any) explains it."""

    def __init__(self, reason: str, log_file: Path | None = None) -> None:
        super().__init__(reason)
        self.log_file = log_file


class StackFailed(RuntimeError):
    """A step failed and has been reported; the stack must be torn down."""


def display(path: Path) -> str:
    """`path` relative to the working directory when it lies below it, else absolute."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class StepOutcome:
    """Set `detail` inside a step to append it to the `ok` line."""

    def __init__(self) -> None:
        self.detail = ""


class Progress:
    """Reports `total` numbered steps on `out`."""

    def __init__(self, total: int, out: TextIO | None = None) -> None:
        self.total = total
        self.out = out or sys.stdout
        self.number = 0

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    @asynccontextmanager
    async def step(self, title: str) -> AsyncIterator[StepOutcome]:
        self.number += 1
        self.out.write(f"[{self.number}/{self.total}] {title} ... ")
        self.out.flush()
        started = time.monotonic()
        outcome = StepOutcome()
        try:
            yield outcome
        except asyncio.CancelledError:
            self.say(f"interrupted ({time.monotonic() - started:.1f}s)")
            raise
        except Exception as exc:
            self.say(f"FAILED ({time.monotonic() - started:.1f}s)")
            self._explain(exc)
            raise StackFailed(f"step {self.number} ({title}) failed: {_first_line(exc)}") from exc
        detail = f": {outcome.detail}" if outcome.detail else ""
        self.say(f"ok ({time.monotonic() - started:.1f}s){detail}")

    def _explain(self, exc: Exception) -> None:
        if isinstance(exc, StepFailed | CommandFailed):
            self.say(_indent(str(exc)))
            if exc.log_file is not None:
                self.say(f"{_INDENT}--- tail of {display(exc.log_file)} ---")
                self.say(_indent(log_tail(exc.log_file, 30)))
        elif isinstance(exc, PostgresError | KafkaError):
            self.say(_indent(str(exc)))  # these carry their own log tails
        else:
            self.say(_indent(f"{type(exc).__name__}: {exc}"))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _indent(text: str) -> str:
    return "\n".join(_INDENT + line for line in text.splitlines())


def format_summary(lines: list[tuple[str, str]]) -> str:
    """The (label, value) lines of a stack's addresses as an aligned block."""
    width = max((len(label) for label, _ in lines), default=0)
    return "\n".join(f"  {label.ljust(width)}  {value}" for label, value in lines)
