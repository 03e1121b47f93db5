"""Migrated template databases: migrated once per Alembic configuration, copied per test, and every
copy is a database of its own."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import pytest

from city_shared.migrations import upgrade_to_head
from devstack.databases import DatabaseAdmin, plain_dsn
from devstack.postgres import PostgresServer
from devstack.pytest_plugin import MakeMigratedDatabase
from devstack.templates import DatabaseTemplates

ENV_PY = """\
from sqlalchemy import MetaData

from city_shared.migrations import run_migrations

run_migrations(MetaData())
"""

FIRST_REVISION = """\
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "things",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("note", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("things")
"""


def alembic_project(root: Path) -> Path:
    """A one-revision Alembic project (table `things`) under `root`; its alembic.ini."""
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    (versions / "0001_things.py").write_text(FIRST_REVISION)
    ini = root / "alembic.ini"
    ini.write_text("[alembic]\nscript_location = %(here)s/migrations\n")
    return ini


async def notes(url: str) -> list[str]:
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        return [row["note"] for row in await conn.fetch("SELECT note FROM things ORDER BY id")]
    finally:
        await conn.close()


async def add_note(url: str, note: str) -> None:
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        await conn.execute("INSERT INTO things (note) VALUES ($1)", note)
    finally:
        await conn.close()


async def database_names(server: PostgresServer | DatabaseAdmin) -> set[str]:
    conn = await asyncpg.connect(server.admin_dsn)
    try:
        return {row["datname"] for row in await conn.fetch("SELECT datname FROM pg_database")}
    finally:
        await conn.close()


async def test_concurrent_first_clones_migrate_the_template_once_and_each_copy_is_independent(
    postgres_server: PostgresServer | DatabaseAdmin, tmp_path: Path
) -> None:
    ini = alembic_project(tmp_path / "things")
    migrations: list[str] = []

    def counting_migrate(alembic_ini: str, url: str) -> None:
        migrations.append(url)
        upgrade_to_head(alembic_ini, url)

    templates = DatabaseTemplates(postgres_server, migrate=counting_migrate)
    names = [f"t_tpl_{uuid.uuid4().hex[:8]}" for _ in range(3)]
    try:
        urls = await asyncio.gather(*(templates.clone(ini, name) for name in names))
        later = await templates.clone(str(ini), f"t_tpl_{uuid.uuid4().hex[:8]}")
        names.append(later.rsplit("/", 1)[1])

        assert len(migrations) == 1
        template = templates.templates[ini.resolve()]
        assert template.startswith("tpl_things_")
        assert [await notes(url) for url in [*urls, later]] == [[], [], [], []]

        await add_note(urls[0], "only in the first copy")
        assert await notes(urls[0]) == ["only in the first copy"]
        assert await notes(urls[1]) == []
        assert await notes(later) == []
        assert template in await database_names(postgres_server)
    finally:
        for name in names:
            await postgres_server.drop_database(name)
        await templates.drop_all()
    assert template not in await database_names(postgres_server)


async def test_a_failed_migration_leaves_no_template_behind(
    postgres_server: PostgresServer | DatabaseAdmin, tmp_path: Path
) -> None:
    ini = alembic_project(tmp_path / "broken")
    (tmp_path / "broken" / "migrations" / "versions" / "0001_things.py").write_text(
        FIRST_REVISION.replace('op.drop_table("things")', "pass").replace(
            'sa.Column("note", sa.Text, nullable=False),', 'sa.Column("id", sa.Text),'
        )
    )
    templates = DatabaseTemplates(postgres_server)
    before = await database_names(postgres_server)
    with pytest.raises(Exception, match="id"):
        await templates.clone(ini, f"t_tpl_{uuid.uuid4().hex[:8]}")
    assert templates.templates == {}
    assert await database_names(postgres_server) == before


async def test_migrated_database_fixture_gives_a_fresh_copy_per_call(
    migrated_database: MakeMigratedDatabase, tmp_path: Path
) -> None:
    ini = alembic_project(tmp_path / "fixture")
    first = await migrated_database(ini)
    second = await migrated_database(str(ini))

    assert first.startswith("postgresql+asyncpg://")
    assert first != second
    await add_note(second, "written through the second")
    assert await notes(first) == []
    assert await notes(second) == ["written through the second"]
