"""A throwaway PostgreSQL and Kafka for one benchmark run, on free loopback ports in a temp dir.

:func:`running_infra` starts both servers and always stops them and removes the directory, also
when the benchmark fails or is interrupted (SIGTERM becomes ``KeyboardInterrupt``); an
``atexit`` hook kills what is left if the interpreter exits abruptly. Nothing here measures.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import shutil
import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text

from city_shared.backbone import create_backbone
from city_shared.db import asyncpg_dsn, create_engine
from city_shared.topics import TopicSpec, ensure_topics
from devstack import paths
from devstack.kafka import KafkaServer, ensure_kafka_jars, kafka_version
from devstack.ports import free_ports
from devstack.postgres import PostgresServer
from devstack.sessions import (
    KAFKA_SUBDIR,
    POSTGRES_SUBDIR,
    create_session_dir,
    reap_stale_sessions,
)

#: A stand-in for a service's own state table, written by the "no outbox" baseline.
STATE_DDL = "CREATE TABLE bench_state (id bigserial PRIMARY KEY, data jsonb NOT NULL)"


@dataclass(frozen=True)
class Database:
    """A migrated database (backbone tables plus ``bench_state``)."""

    url: str

    @property
    def dsn(self) -> str:
        return asyncpg_dsn(self.url)


@dataclass
class Infra:
    """The running servers of one benchmark run."""

    postgres: PostgresServer
    kafka: KafkaServer
    fsync: bool

    @property
    def bootstrap(self) -> str:
        return self.kafka.bootstrap_servers

    async def new_database(self, prefix: str) -> Database:
        """A fresh database migrated like a service's first migration."""
        url = await self.postgres.create_database(f"{prefix}_{uuid.uuid4().hex[:8]}")
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(create_backbone)
                await conn.execute(text(STATE_DDL))
        finally:
            await engine.dispose()
        return Database(url)

    async def new_topic(self, prefix: str, partitions: int = 3) -> str:
        """A fresh topic (the platform's event topics have 3 partitions), returned once every
        partition has a leader, so no measurement starts with leader elections."""
        name = f"{prefix}.{uuid.uuid4().hex[:10]}"
        await ensure_topics(self.bootstrap, [TopicSpec(name, partitions=partitions)])
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            for _ in range(100):
                described = await admin.describe_topics([name])
                found = [p for t in described if t["error_code"] == 0 for p in t["partitions"]]
                if len(found) == partitions and all(p["leader"] >= 0 for p in found):
                    break
                await asyncio.sleep(0.1)
        finally:
            await admin.close()
        return name

    async def postgres_version(self) -> str:
        conn = await asyncpg.connect(self.postgres.admin_dsn)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    @staticmethod
    def kafka_version() -> str:
        return kafka_version(paths.kafka_pom())


def quiet_logging() -> None:
    """Warnings and errors only, without aiokafka's noise while a new group's coordinator is
    being created (``GroupCoordinatorNotAvailable`` on the first join)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(logging.CRITICAL)


def _sigterm_to_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@asynccontextmanager
async def running_infra(*, fsync: bool) -> AsyncIterator[Infra]:
    """Start PostgreSQL (``fsync`` on or off) and a one-node Kafka; stop both on exit."""
    signal.signal(signal.SIGTERM, _sigterm_to_keyboard_interrupt)
    reap_stale_sessions()
    root = create_session_dir()
    jars = await asyncio.to_thread(ensure_kafka_jars, paths.local_dir() / "cache" / "kafka")
    pg_port, kafka_port, controller_port = free_ports(3)
    postgres = PostgresServer(root / POSTGRES_SUBDIR, pg_port, fsync=fsync)
    kafka = KafkaServer(root / KAFKA_SUBDIR, kafka_port, controller_port, jars)
    atexit.register(postgres.kill)
    atexit.register(kafka.kill)
    try:
        await postgres.start()
        await kafka.start()
        yield Infra(postgres, kafka, fsync)
    finally:
        try:
            await kafka.stop()
        finally:
            try:
                await postgres.stop()
            finally:
                atexit.unregister(postgres.kill)
                atexit.unregister(kafka.kill)
                shutil.rmtree(root, ignore_errors=True)


def root_path() -> Path:
    """The repository root (for ``docs/`` and ``.local/``)."""
    return paths.repo_root()
