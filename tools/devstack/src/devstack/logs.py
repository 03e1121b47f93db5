"""Log files of the stack's processes: appended across restarts, rotated by size.

Contract: a `RotatingLog` only ever appends to `<name>.log`; when a write would take the file
past `max_bytes` it first renames `<name>.log` to `<name>.log.1` (shifting older files up and
dropping the one past `keep`), so nothing a process wrote is lost to a restart and the disk use
stays bounded near `max_bytes * (keep + 1)`. Writes are serialised by a lock, so the output pump
of a child and the supervisor's marker lines never interleave mid-line. `pump` copies a pipe
into a log in a daemon thread until the pipe closes.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import BinaryIO

MAX_BYTES = 10 * 1024 * 1024
KEEP = 3
_CHUNK = 65536


def rotated(path: Path, number: int) -> Path:
    """`<path>.<number>`: the `number`-th older file (1 is the newest of them)."""
    return path.with_name(f"{path.name}.{number}")


def rotate(path: Path, keep: int = KEEP) -> None:
    """Shift `path` to `path.1`, `path.1` to `path.2` ..., dropping `path.<keep>`."""
    rotated(path, keep).unlink(missing_ok=True)
    for number in range(keep - 1, 0, -1):
        older = rotated(path, number)
        if older.exists():
            older.rename(rotated(path, number + 1))
    if path.exists():
        path.rename(rotated(path, 1))


def rotate_if_large(path: Path, max_bytes: int = MAX_BYTES, keep: int = KEEP) -> None:
    """`rotate(path)` when it holds `max_bytes` or more (for files other processes append to)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size >= max_bytes:
        rotate(path, keep)


def marker(text: str) -> bytes:
    """A line that stands out in a log: `=== devstack <time>: <text> ===`."""
    return f"=== devstack {time.strftime('%Y-%m-%d %H:%M:%S')}: {text} ===\n".encode()


class RotatingLog:
    """One append-only, size-rotated log file (see the module docstring)."""

    def __init__(self, path: Path, max_bytes: int = MAX_BYTES, keep: int = KEEP) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        self._lock = threading.Lock()
        self._file: BinaryIO | None = None
        self._size = 0

    def write(self, data: bytes) -> None:
        """Append `data`, rotating first when the file would grow past `max_bytes`."""
        if not data:
            return
        with self._lock:
            handle = self._open()
            if self._size and self._size + len(data) > self.max_bytes:
                handle.close()
                rotate(self.path, self.keep)
                self._file = None
                handle = self._open()
            handle.write(data)
            handle.flush()
            self._size += len(data)

    def mark(self, text: str) -> None:
        """Append a marker line (see `marker`)."""
        self.write(marker(text))

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def _open(self) -> BinaryIO:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
            self._size = self._file.tell()
        return self._file


def pump(fd: int, log: RotatingLog, name: str) -> threading.Thread:
    """Copy everything readable from `fd` into `log` until end of file, then close `fd`."""

    def copy() -> None:
        try:
            while chunk := os.read(fd, _CHUNK):
                log.write(chunk)
        except OSError as exc:
            log.mark(f"lost the output of {name}: {exc}")
        finally:
            os.close(fd)

    thread = threading.Thread(target=copy, name=f"log-{name}", daemon=True)
    thread.start()
    return thread
