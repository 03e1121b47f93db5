"""A point-in-time restore, rehearsed for real with the local PostgreSQL binaries.

What CloudNativePG's barman-cloud plugin does in production: the source server archives every
WAL segment (``archive_command``), a base backup is taken that relies on that archive for its
WAL, rows are written, a target time is recorded, more rows are written, changed and deleted;
then a NEW data directory is restored from the base backup, replaying WAL from the archive
(``restore_command``) up to ``recovery_target_time``, and promoted. Twice: with the plugin's
own tools (barman-cloud-wal-archive, -backup, -restore, -wal-restore) against an S3 server
(moto) on 127.0.0.1, and with plain PostgreSQL tools (``cp``, ``pg_basebackup -X none``) into a
directory, which needs nothing beyond PostgreSQL. deploy/k8s/README.md, "Restoring a
database", is the same procedure on Kubernetes (deploy/k8s/examples/restore-cluster.yaml).

The restored database must hold exactly the rows committed before the target: those written
after the base backup (replayed from the archive) included, those after the target absent.
Negative control: the same restore without a target (to the end of the archive) does hold the
later changes, so their absence above is the target's doing, not a short archive.

The barman-cloud variant needs /opt/city-test-tools/barman-cloud or .local/barman-cloud
(tests/database_ops/install_barman_cloud.sh):
skipped when it is missing on a developer's machine, failed in CI (``CI`` set).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest

from devstack.ports import free_port
from devstack.postgres import PostgresServer
from tests.database_ops.archives import (
    Archive,
    BarmanCloudArchive,
    DirectoryArchive,
    barman_cloud_bin,
    owned_dir,
    s3_server,
)


class Rehearsal:
    """The directories, archive and servers of one rehearsal; every server it starts, it
    stops."""

    def __init__(self, root: Path, archive: Callable[[Path], Archive]) -> None:
        self.root = owned_dir(root)
        self.archive = archive(root)
        self.servers: list[PostgresServer] = []

    def server(self, name: str) -> PostgresServer:
        server = PostgresServer(self.root / name, free_port(), fsync=False)
        self.servers.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.servers:
            server.kill()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(params=["barman-cloud", "directory"])
def rehearsal(request: pytest.FixtureRequest, devstack_dir: Path) -> Iterator[Rehearsal]:
    root = devstack_dir / f"restore-{uuid.uuid4().hex[:8]}"
    if request.param == "directory":
        found = Rehearsal(root, DirectoryArchive)
        try:
            yield found
        finally:
            found.stop_all()
        return
    bin_dir = barman_cloud_bin()
    if bin_dir is None:
        message = ("barman-cloud not found (/opt/city-test-tools, .local or "
                   "CITY_TEST_BARMAN_CLOUD_BIN); "
                   "install it with tests/database_ops/install_barman_cloud.sh")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with s3_server(bin_dir) as endpoint:
        found = Rehearsal(root, lambda _: BarmanCloudArchive(bin_dir, endpoint))
        try:
            yield found
        finally:
            found.stop_all()


async def connect(server: PostgresServer) -> asyncpg.Connection:
    return await asyncpg.connect(server.admin_dsn)


async def insert(conn: asyncpg.Connection, *ids: int) -> None:
    await conn.executemany("INSERT INTO ledger (id, note) VALUES ($1, $2)",
                           [(i, f"entry {i}") for i in ids])


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    """Wait for ``check`` to hold (each call is a query; the test's timeout bounds the wait)."""
    while True:
        if await check():
            return
        await asyncio.sleep(0.02)


async def archived_through(conn: asyncpg.Connection, segment: str) -> None:
    """Wait until the archiver has copied ``segment`` (names sort in WAL order)."""
    while True:
        last = await conn.fetchval("SELECT last_archived_wal FROM pg_stat_archiver")
        if last is not None and last >= segment:
            return
        failed = await conn.fetchval("SELECT failed_count FROM pg_stat_archiver")
        assert failed == 0, "archive_command failed"
        await asyncio.sleep(0.05)


async def prepare_source(rehearsal: Rehearsal) -> datetime:
    """Archive on, base backup, writes, the target time, later writes; returns the target."""
    source = rehearsal.server("source")
    await source.start()
    conn = await connect(source)
    try:
        await conn.execute("ALTER SYSTEM SET archive_mode = 'on'")
        command = rehearsal.archive.archive_command().replace("'", "''")
        await conn.execute(f"ALTER SYSTEM SET archive_command = '{command}'")
    finally:
        await conn.close()
    with (source.data_dir / "pg_hba.conf").open("a") as hba:  # pg_basebackup's connection
        hba.write("host replication postgres 127.0.0.1/32 trust\n")
    await source.stop()  # archive_mode takes a restart
    await source.start()
    conn = await connect(source)
    try:
        await conn.execute("CREATE TABLE ledger (id integer PRIMARY KEY, note text NOT NULL)")
        await insert(conn, 1, 2, 3)
        rehearsal.archive.base_backup(source)
        await insert(conn, 4, 5, 6)  # after the base backup: only the archive has them
        await conn.execute("UPDATE ledger SET note = 'corrected' WHERE id = 5")
        target: datetime = await conn.fetchval("SELECT clock_timestamp()")
        # Every later commit is strictly after the target.
        await until(lambda: conn.fetchval("SELECT clock_timestamp() > $1", target))
        await insert(conn, 7, 8, 9)  # the "mistake" the restore goes back before
        await conn.execute("DELETE FROM ledger WHERE id = 2")
        await conn.execute("UPDATE ledger SET note = 'overwritten' WHERE id = 5")
        segment = await conn.fetchval("SELECT pg_walfile_name(pg_switch_wal())")
        await archived_through(conn, segment)
    finally:
        await conn.close()
    await source.stop()  # the restore needs nothing of the source but the archive
    return target


async def restore(rehearsal: Rehearsal, name: str, target: datetime | None) -> dict[int, str]:
    """A new data directory from the base backup and the archive; its rows once promoted."""
    server = rehearsal.server(name)
    rehearsal.archive.restore_base(server.data_dir)
    restore_command = rehearsal.archive.restore_command().replace("'", "''")
    settings = [f"restore_command = '{restore_command}'",
                "archive_mode = 'off'",  # a restored server must not write into its source's
                "recovery_target_action = 'promote'"]
    if target is not None:
        settings.append(f"recovery_target_time = '{target.isoformat()}'")
    with (server.data_dir / "postgresql.auto.conf").open("a") as conf:
        conf.write("\n".join(settings) + "\n")
    (server.data_dir / "recovery.signal").touch()
    await server.start()
    conn = await connect(server)
    try:
        await until(lambda: conn.fetchval("SELECT NOT pg_is_in_recovery()"))
        rows = await conn.fetch("SELECT id, note FROM ledger ORDER BY id")
        return {row["id"]: row["note"] for row in rows}
    finally:
        await conn.close()
        await server.stop()


async def test_point_in_time_restore_into_a_new_data_directory(rehearsal: Rehearsal) -> None:
    target = await prepare_source(rehearsal)

    restored = await restore(rehearsal, "restored-at-target", target)
    assert restored == {1: "entry 1", 2: "entry 2", 3: "entry 3", 4: "entry 4",
                        5: "corrected", 6: "entry 6"}

    latest = await restore(rehearsal, "restored-to-end", None)
    assert latest == {1: "entry 1", 3: "entry 3", 4: "entry 4", 5: "overwritten",
                      6: "entry 6", 7: "entry 7", 8: "entry 8", 9: "entry 9"}
