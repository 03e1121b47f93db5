"""Alembic plumbing shared by every service's ``migrations/env.py``.

Each service keeps its own migration history in its own database; this module only runs it.
The database URL comes from ``CITY_DATABASE_URL`` (or ``-x database_url=...``), never from
``alembic.ini``, so no credentials live in the repository.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import Connection, MetaData, pool
from sqlalchemy.ext.asyncio import create_async_engine


def run_migrations(metadata: MetaData) -> None:
    """Run the current Alembic command (online, async engine) against the service database."""
    url = (
        context.config.attributes.get("database_url")
        or context.get_x_argument(as_dictionary=True).get("database_url")
        or os.environ.get("CITY_DATABASE_URL")
    )
    if not url:
        raise RuntimeError("set CITY_DATABASE_URL (or -x database_url=...) to migrate")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, metadata))


def _configure_and_run(connection: Connection, metadata: MetaData) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(url: str, metadata: MetaData) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure_and_run, metadata)
    finally:
        await engine.dispose()


def upgrade_to_head(alembic_ini: str, database_url: str) -> None:
    """Programmatic ``alembic upgrade head`` (used by the local stack and the tests).

    Must not be called from a running event loop's thread (Alembic's env runs its own loop).
    """
    from alembic import command
    from alembic.config import Config

    config = Config(alembic_ini)
    config.cmd_opts = None
    config.attributes["database_url"] = database_url
    command.upgrade(config, "head")
