"""Migrated template databases: run a service's Alembic migrations once, copy the result per test.

`DatabaseTemplates` keeps one template database per `alembic.ini`. The first `clone(ini, name)`
creates the template and migrates it to head (callers racing on the same ini wait for that one
migration under an asyncio lock); every call then creates `name` with
`CREATE DATABASE name TEMPLATE tpl_...`, a file-level copy that costs a fraction of running the
migrations. PostgreSQL copies only a database nobody is connected to, so the migration must leave
no connection behind (`upgrade_to_head` disposes its NullPool engine) and the template is closed
to new connections once migrated. `drop_all()` drops the templates.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from city_shared.migrations import upgrade_to_head

Migrate = Callable[[str, str], None]
"""`migrate(alembic_ini, database_url)`, blocking (it runs in a worker thread)."""


class DatabaseServer(Protocol):
    """What templates need of `PostgresServer` or `DatabaseAdmin`."""

    async def create_database(self, name: str, *, template: str | None = None) -> str: ...

    async def drop_database(self, name: str) -> None: ...

    async def close_to_connections(self, name: str) -> None: ...


def config_key(alembic_ini: str | Path) -> Path:
    """The resolved path of `alembic_ini`: one template per configuration file."""
    return Path(alembic_ini).resolve()


def template_name(alembic_ini: Path) -> str:
    """`tpl_<service>_<random>`: the ini's folder names the service; the random part keeps two
    sessions on one external server apart."""
    stem = re.sub(r"[^a-z0-9_]+", "_", alembic_ini.parent.name.lower()).strip("_")[:40]
    return f"tpl_{stem or 'db'}_{uuid.uuid4().hex[:8]}"


class DatabaseTemplates:
    """One migrated template database per `alembic.ini` on `server`, copied on demand."""

    def __init__(self, server: DatabaseServer, migrate: Migrate = upgrade_to_head) -> None:
        self._server = server
        self._migrate = migrate
        self._templates: dict[Path, str] = {}
        self._locks: dict[Path, asyncio.Lock] = {}

    @property
    def templates(self) -> dict[Path, str]:
        """The migrated templates so far: resolved `alembic.ini` path -> database name."""
        return dict(self._templates)

    async def clone(self, alembic_ini: str | Path, name: str) -> str:
        """Create database `name` as a copy of the migrated template of `alembic_ini`; its URL."""
        template = await self.template(alembic_ini)
        return await self._server.create_database(name, template=template)

    async def template(self, alembic_ini: str | Path) -> str:
        """The name of the template migrated from `alembic_ini`, migrating it on first use."""
        ini = config_key(alembic_ini)
        lock = self._locks.setdefault(ini, asyncio.Lock())
        async with lock:
            if ini not in self._templates:
                self._templates[ini] = await self._migrated_template(ini)
            return self._templates[ini]

    async def drop_all(self) -> None:
        """Drop every template made so far (later calls migrate anew)."""
        while self._templates:
            _, name = self._templates.popitem()
            await self._server.drop_database(name)

    async def _migrated_template(self, ini: Path) -> str:
        name = template_name(ini)
        url = await self._server.create_database(name)
        try:
            await asyncio.to_thread(self._migrate_checked, ini, url)
            await self._server.close_to_connections(name)
        except BaseException:
            await self._server.drop_database(name)
            raise
        return name

    def _migrate_checked(self, ini: Path, url: str) -> None:
        if not ini.is_file():
            raise FileNotFoundError(f"no Alembic configuration at {ini}")
        self._migrate(str(ini), url)
