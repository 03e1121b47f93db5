"""Finding and stopping what a dead `devstack run` left behind in its stack directory.

Contract: `stop_leftovers` must only be called when no live stack owns the directory. It stops
the processes the state file lists (only if their command line still matches, so a reused pid
is never signalled), a broker whose pid is in `kafka/kafka.pid`, and a PostgreSQL cluster
running on `postgres/`. It returns what it stopped; calling it again finds nothing.
"""

from __future__ import annotations

import contextlib

from devstack.children import terminate_pid
from devstack.config import StackConfig
from devstack.postgres import PostgresError, PostgresServer
from devstack.state import StackState, process_alive

_KAFKA_MARKER = "kafka.Kafka"
POSTGRES_RECORD = "postgresql"


def stop_leftovers(config: StackConfig, state: StackState | None) -> list[str]:
    """Stop the leftovers of a dead stack; returns a description of each one stopped."""
    stopped: list[str] = []
    for record in state.children if state is not None else []:
        if record.name == POSTGRES_RECORD:
            continue  # stopped below through pg_ctl, which waits for a clean shutdown
        if process_alive(record.pid, record.marker):
            terminate_pid(record.pid)
            stopped.append(f"{record.name} (pid {record.pid})")
    pid_file = config.kafka_dir / "kafka.pid"
    with contextlib.suppress(FileNotFoundError, ValueError):
        pid = int(pid_file.read_text().strip())
        if process_alive(pid, _KAFKA_MARKER):
            terminate_pid(pid, timeout=30.0)
            stopped.append(f"kafka (pid {pid})")
        pid_file.unlink()
    if (config.postgres_dir / "postmaster.pid").exists():
        server = PostgresServer(config.postgres_dir, config.postgres_port)
        with contextlib.suppress(PostgresError, OSError):
            if server.is_running():
                server.stop_sync()
                stopped.append("PostgreSQL")
    return stopped
