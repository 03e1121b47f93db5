"""The infrastructure steps of the stack: PostgreSQL databases, Kafka, the SMTP sink, topics.

Each function does one step and raises on failure (`StepFailed`, `PostgresError`, `KafkaError`)
with enough context for `devstack.progress` to explain it. Nothing here stops a server; the
caller (`devstack.stack.Stack`) owns every server it was handed and tears it down.
`KafkaMember` and `PostgresMember` let `devstack.supervisor` restart the servers the stack owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import sys
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

from city_shared.deadletters import dead_letter_spec
from city_shared.settings import ServiceSettings
from city_shared.topics import TopicSpec, ensure_topics
from devstack.children import Child, describe_exit
from devstack.config import LOOPBACK, StackConfig
from devstack.databases import DatabaseAdmin
from devstack.kafka import KafkaServer, ensure_kafka_jars, kafka_version
from devstack.logs import marker
from devstack.paths import kafka_pom
from devstack.postgres import PostgresServer
from devstack.processes import log_tail
from devstack.progress import StepFailed
from devstack.state import process_alive
from devstack.supervisor import Supervision

T = TypeVar("T")


async def blocking(fn: Callable[[], T]) -> T:
    """Run `fn` in a worker thread; if cancelled, wait for it to finish before re-raising.

    A server start interrupted by Ctrl-C must not complete behind the teardown's back.
    """
    future = asyncio.ensure_future(asyncio.to_thread(fn))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await asyncio.wait([future])
        raise


def new_postgres(config: StackConfig) -> PostgresServer:
    """The stack's own cluster (not started)."""
    return PostgresServer(config.postgres_dir, config.postgres_port, LOOPBACK)


async def create_databases(admin: DatabaseAdmin, config: StackConfig) -> dict[str, str]:
    """Create each service's database unless it exists; returns service -> async URL."""
    urls: dict[str, str] = {}
    for service in config.services:
        urls[service.name] = await admin.create_database(service.database)
    return urls


def kafka_jars_cached(config: StackConfig) -> bool:
    """True when the broker's jars are already resolved (no Maven download needed)."""
    libs = config.kafka_cache.absolute() / f"libs-{kafka_version(kafka_pom())}"
    return (libs / ".complete").exists()


async def new_kafka(config: StackConfig) -> KafkaServer:
    """The stack's own broker (not started), resolving its jars from Maven the first time."""
    jars = await blocking(lambda: ensure_kafka_jars(config.kafka_cache))
    return KafkaServer(config.kafka_dir, config.kafka_port, config.kafka_controller_port, jars)


async def check_reachable(bootstrap_servers: str, timeout: float = 5.0) -> None:
    """Raise `StepFailed` unless some bootstrap server accepts a TCP connection."""
    errors: list[str] = []
    for address in bootstrap_servers.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            errors.append(f"{address}: {exc or type(exc).__name__}")
            continue
        writer.close()
        return
    raise StepFailed(f"no Kafka broker answers at {bootstrap_servers} ({'; '.join(errors)})")


def smtp_child(config: StackConfig, env: Mapping[str, str]) -> Child:
    """The SMTP sink as a child process (`python -m devstack.smtp`)."""
    return Child(
        "smtp",
        [
            sys.executable,
            "-m",
            "devstack.smtp",
            "--host",
            LOOPBACK,
            "--port",
            str(config.smtp_port),
            "--mailbox",
            str(config.mail_dir),
        ],
        env=env,
        log_file=config.logs_dir / "smtp.log",
        cwd=config.repo,
        marker="devstack.smtp",
    )


async def wait_port(child: Child, port: int, timeout: float) -> None:
    """Wait until `LOOPBACK:port` accepts connections while `child` keeps running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = child.returncode()
        if code is not None:
            raise StepFailed(f"{child.name} {describe_exit(code)}", child.log_file)
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(LOOPBACK, port), 1.0)
        except (OSError, TimeoutError):
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise StepFailed(
        f"{child.name} does not accept connections on {LOOPBACK}:{port} after {timeout:.0f}s",
        child.log_file,
    )


DEAD_LETTER_RETENTION_MS: int = ServiceSettings.model_fields[
    "kafka_dead_letter_retention_ms"].default


def all_topic_specs(config: StackConfig) -> list[TopicSpec]:
    """Every service's `OWNED_TOPICS` plus its dead-letter topic, as its worker would create
    them (the dead letters kept for the settings' default retention, 28 days)."""
    specs: list[TopicSpec] = []
    for service in config.services:
        module = importlib.import_module(f"{service.name}_service.topics")
        owned = getattr(module, "OWNED_TOPICS", ())
        specs += [spec for spec in owned if isinstance(spec, TopicSpec)]
        specs.append(dead_letter_spec(service.name, retention_ms=DEAD_LETTER_RETENTION_MS))
    return specs


async def provision_topics(config: StackConfig) -> tuple[int, int]:
    """Create the missing topics; returns (created, total). Idempotent."""
    specs = all_topic_specs(config)
    created = await ensure_topics(config.bootstrap_servers, specs, timeout=30.0)
    return len(created), len(specs)


class KafkaMember:
    """The stack's broker as a supervised member: restarted (and waited for) when it exits."""

    name = "kafka"
    marker = "kafka.Kafka"

    def __init__(self, server: KafkaServer) -> None:
        self.server = server
        self.supervision = Supervision()
        self.supervision.started(time.monotonic())

    def exit_reason(self) -> str | None:
        if self.server.is_running():
            return None
        code = self.server.exit_code
        return "stopped" if code is None else describe_exit(code)

    def running_pid(self) -> int | None:
        return self.server.pid

    async def restart(self, note: str) -> None:
        self.note(note)
        await self.server.start()

    def note(self, text: str) -> None:
        with self.server.log_file.open("ab") as log:
            log.write(marker(text))

    def tail(self, lines: int = 30) -> str:
        return log_tail(self.server.log_file, lines)


class PostgresMember:
    """The stack's own cluster as a supervised member; its pid is the postmaster's.

    The postmaster is not our child (pg_ctl daemonises it), so it is watched through
    `postmaster.pid` and `/proc`; its own log records its start-ups.
    """

    name = "postgresql"

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self.marker = str(server.data_dir)  # the postmaster runs `postgres -D <data_dir>`
        self.supervision = Supervision()
        self.supervision.started(time.monotonic())

    def exit_reason(self) -> str | None:
        return None if self.running_pid() is not None else "stopped (no postmaster)"

    def running_pid(self) -> int | None:
        try:
            first = (self.server.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
            pid = int(first)
        except (OSError, ValueError):
            return None
        return pid if process_alive(pid, self.marker) else None

    async def restart(self, note: str) -> None:
        await blocking(self.server.start_sync)

    def note(self, text: str) -> None:
        """Nothing: the server log belongs to PostgreSQL, which logs its own start-ups."""

    def tail(self, lines: int = 30) -> str:
        return log_tail(self.server.log_file, lines)
