"""Temporary directories that hold one test session's servers, and reaping of abandoned ones.

Contract: `create_session_dir()` makes `<tmp>/devstack-XXXX` (mode 0711, so the `postgres` user
can reach the cluster inside) and records the owning pid in `owner.pid`. `reap_stale_sessions()`
stops the servers of session directories whose owner no longer exists (a SIGKILLed pytest:
PostgreSQL daemonises and would outlive it) and removes those directories. Live sessions of other
processes are never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path

from devstack.postgres import PostgresServer

PREFIX = "devstack-"
OWNER_FILE = "owner.pid"
POSTGRES_SUBDIR = "postgres"
KAFKA_SUBDIR = "kafka"


def create_session_dir(base: Path | None = None) -> Path:
    """Create a fresh session directory owned by this process."""
    root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base))
    root.chmod(0o711)
    (root / OWNER_FILE).write_text(f"{os.getpid()}\n")
    return root


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return int(text) if text.isdigit() else None


def _kill_stale_kafka(kafka_dir: Path) -> None:
    pid = _read_pid(kafka_dir / "kafka.pid")
    if pid is None or not _pid_alive(pid):
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return
    if b"kafka.Kafka" in cmdline:  # the pid was not reused by an unrelated process
        os.killpg(pid, signal.SIGKILL)


def reap_stale_sessions(base: Path | None = None) -> list[Path]:
    """Stop the servers of abandoned session directories under `base` and delete them.

    Returns the directories removed. Directories without `owner.pid` are left alone.
    """
    removed: list[Path] = []
    for root in Path(base or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        owner = _read_pid(root / OWNER_FILE)
        if owner is None or _pid_alive(owner):
            continue
        if (root / POSTGRES_SUBDIR / "postmaster.pid").exists():
            PostgresServer(root / POSTGRES_SUBDIR, port=0).kill()
        _kill_stale_kafka(root / KAFKA_SUBDIR)
        shutil.rmtree(root, ignore_errors=True)
        removed.append(root)
    return removed
