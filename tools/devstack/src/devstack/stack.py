"""The whole local stack as one object: start it step by step, supervise it, tear it down.

Contract: `Stack.start()` runs the eight steps in order and raises `StackFailed` (already
reported) or `CancelledError`; whatever it started before that is recorded on the object, and
`shutdown()` stops exactly that - children first (SIGTERM, SIGKILL after a timeout), then the
broker and the PostgreSQL cluster through their wrappers - and never anything it did not start.
External PostgreSQL and Kafka servers are used, never stopped. Once started, `supervise()`
restarts whatever of it exits (`devstack.supervisor`). `on_change` is called whenever a process
starts, exits or is restarted, so the state file can list them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

from devstack import infra, services
from devstack.children import Child, stop_children
from devstack.config import LOOPBACK, StackConfig, without_password
from devstack.databases import DatabaseAdmin
from devstack.kafka import KafkaServer
from devstack.liveness import LivenessWatch
from devstack.postgres import PostgresServer
from devstack.progress import Progress, display
from devstack.state import ChildRecord
from devstack.supervisor import Backoff, Supervised, Supervisor

STEPS = 8
CHILD_STOP_TIMEOUT = 15.0


class Stack:
    """The servers and processes of one `devstack run`."""

    def __init__(
        self,
        config: StackConfig,
        progress: Progress,
        environ: Mapping[str, str],
        on_change: Callable[[], None] = lambda: None,
        backoff: Backoff | None = None,
    ) -> None:
        self.config = config
        self.progress = progress
        self.environ = dict(environ)
        self.on_change = on_change
        self.postgres: PostgresServer | None = None
        self.admin: DatabaseAdmin | None = None
        self.kafka: KafkaServer | None = None
        self.children: list[Child] = []
        self.database_urls: dict[str, str] = {}
        self.infra: list[Supervised] = []
        self.supervisor = Supervisor(
            say=progress.say, on_change=on_change, backoff=backoff, control_dir=config.stack_dir
        )

    # -- start ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start everything; idempotent on the persisted data (initdb/format happen once)."""
        config = self.config
        await self._start_postgres()
        await self._start_kafka()
        base = services.base_env(self.environ, config)
        async with self.progress.step(f"SMTP sink on {LOOPBACK}:{config.smtp_port}") as out:
            smtp = self._spawn(infra.smtp_child(config, base))
            await infra.wait_port(smtp, config.smtp_port, timeout=30.0)
            out.detail = f"mailbox {display(config.mail_dir)}"
        async with self.progress.step(f"Kafka topics on {config.bootstrap_servers}") as out:
            created, total = await infra.provision_topics(config)
            out.detail = f"{created} created, {total - created} already there"
        envs = {
            s.name: services.service_env(base, s, self.database_urls[s.name])
            for s in config.services
        }
        async with self.progress.step("Database migrations (alembic upgrade head)") as out:
            await services.migrate_all(config, envs)
            out.detail = f"logs in {display(config.logs_dir)}/<service>-migrate.log"
        ports = ", ".join(str(s.api_port) for s in config.services)
        async with self.progress.step(f"APIs on ports {ports}, waiting for /readyz"):
            pairs = [
                (self._spawn(services.api_child(config, s, envs[s.name])), f"{s.base_url}/readyz")
                for s in config.services
            ]
            await services.wait_all_ok(pairs, config.ready_timeout)
        ports = ", ".join(str(s.metrics_port) for s in config.services)
        # A worker serves metrics once configured; it then provisions topics and connects.
        async with self.progress.step(f"Workers (metrics on ports {ports})"):
            pairs = [
                (
                    self._spawn(services.worker_child(config, s, envs[s.name])),
                    f"http://{LOOPBACK}:{s.metrics_port}/metrics",
                )
                for s in config.services
            ]
            await services.wait_all_ok(pairs, config.ready_timeout)
        async with self.progress.step("Demo city seed") as out:
            await services.seed(config, envs)
            out.detail = f"wrote {display(config.demo_file)}"

    async def _start_postgres(self) -> None:
        config = self.config
        if config.database_admin_url is None:
            where = display(config.postgres_dir)
            title = f"PostgreSQL on {LOOPBACK}:{config.postgres_port} ({where})"
        else:
            title = f"PostgreSQL at {without_password(config.database_admin_url)} (external)"
        async with self.progress.step(title) as out:
            if config.database_admin_url is None:
                first = not (config.postgres_dir / "PG_VERSION").exists()
                self.postgres = infra.new_postgres(config)
                await infra.blocking(self.postgres.start_sync)
                self._watch(infra.PostgresMember(self.postgres))
                self.admin = self.postgres.admin
                out.detail = "initialised, " if first else ""
            else:
                self.admin = DatabaseAdmin(config.database_admin_url)
                out.detail = ""
            self.database_urls = await infra.create_databases(self.admin, config)
            out.detail += "databases " + ", ".join(s.database for s in config.services)

    async def _start_kafka(self) -> None:
        config = self.config
        if config.kafka_bootstrap is not None:
            async with self.progress.step(f"Kafka at {config.kafka_bootstrap} (external)"):
                await infra.check_reachable(config.kafka_bootstrap)
            return
        fetch = "" if infra.kafka_jars_cached(config) else " (fetching jars from Maven first)"
        async with self.progress.step(
            f"Kafka (KRaft) on {config.bootstrap_servers}{fetch}"
        ) as out:
            first = not (config.kafka_dir / "logs" / "meta.properties").exists()
            self.kafka = await infra.new_kafka(config)
            await self.kafka.start()
            self._watch(infra.KafkaMember(self.kafka))
            out.detail = ("storage formatted, " if first else "") + f"pid {self.kafka.pid}"
        self.on_change()

    def _watch(self, server: Supervised) -> None:
        self.infra.append(server)
        self.supervisor.add(server)

    def _spawn(self, child: Child) -> Child:
        child.start()
        self.children.append(child)
        self.supervisor.add(child)
        self.on_change()
        return child

    # -- report --------------------------------------------------------------------------

    def records(self) -> list[ChildRecord]:
        """Every process started so far with its supervision, for the state file.

        Children first, then the broker and the PostgreSQL cluster (their pids are the JVM's
        and the postmaster's), so leftovers are stopped in that order.
        """
        records = self.supervisor.records()
        infra_names = {m.name for m in self.infra}
        return sorted(records, key=lambda r: r.name in infra_names)

    def summary(self) -> list[tuple[str, str]]:
        """Where everything listens, as (label, value) lines without secrets."""
        config = self.config
        lines = [
            (
                s.name,
                f"{s.base_url}  docs {s.base_url}/docs  "
                f"worker metrics http://{LOOPBACK}:{s.metrics_port}/metrics",
            )
            for s in config.services
        ]
        external = " (external)" if config.kafka_bootstrap else ""
        lines.append(("Kafka", config.bootstrap_servers + external))
        if self.admin is not None:
            parts = urlsplit(without_password(self.admin.admin_dsn))
            dsn = urlunsplit(parts._replace(path="/city_<service>"))
            lines.append(("PostgreSQL", dsn + ("" if config.owns_postgres else " (external)")))
        lines += [
            ("SMTP", f"{LOOPBACK}:{config.smtp_port}"),
            ("Mailbox", display(config.mail_dir)),
            ("Logs", display(config.logs_dir)),
            ("Demo data", display(config.demo_file)),
        ]
        return lines

    # -- supervise -----------------------------------------------------------------------

    async def supervise(self, stop: asyncio.Event) -> None:
        """Until `stop` is set: restart every process (and owned server) that exits, and kill
        (so that it is restarted) every API or worker whose `/healthz` keeps failing."""
        watch = LivenessWatch(self.liveness_probes(), say=self.progress.say)
        await asyncio.gather(self.supervisor.run(stop), watch.run(stop))

    def liveness_probes(self) -> list[tuple[Child, str]]:
        """Each API's and worker's liveness URL (workers serve it on their metrics port)."""
        urls: dict[str, str] = {}
        for s in self.config.services:
            urls[f"{s.name}-api"] = f"{s.base_url}/healthz"
            urls[f"{s.name}-worker"] = f"http://{LOOPBACK}:{s.metrics_port}/healthz"
        return [(child, urls[child.name]) for child in self.children if child.name in urls]

    # -- stop ----------------------------------------------------------------------------

    async def shutdown(self) -> None:
        """Stop what this stack started, newest processes first; never raises for a stop."""
        say = self.progress.say
        if self.children:
            started = time.monotonic()
            killed = await asyncio.to_thread(
                stop_children, list(reversed(self.children)), CHILD_STOP_TIMEOUT
            )
            took = time.monotonic() - started
            count = len(self.children)
            say(f"Stopped {count} process{'es' * (count != 1)} ({took:.1f}s)")
            if killed:
                say(f"  killed after {CHILD_STOP_TIMEOUT:.0f}s: {', '.join(killed)}")
            self.on_change()
        if self.kafka is not None:
            started = time.monotonic()
            try:
                await self.kafka.stop()
                say(f"Stopped Kafka ({time.monotonic() - started:.1f}s)")
            except Exception as exc:
                self.kafka.kill()
                say(f"Kafka did not stop cleanly ({exc}); killed it")
            self.kafka = None
        if self.postgres is not None:
            started = time.monotonic()
            try:
                await asyncio.to_thread(self.postgres.stop_sync)
                say(f"Stopped PostgreSQL ({time.monotonic() - started:.1f}s)")
            except Exception as exc:
                await asyncio.to_thread(self.postgres.kill)
                say(f"PostgreSQL did not stop cleanly ({exc}); stopped it immediately")
            self.postgres = None

