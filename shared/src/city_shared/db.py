"""Async SQLAlchemy engine, session factory and per-service metadata with a naming convention.

Sessions never commit on their own: the route handler or the shared consumer owns the
transaction (see STYLE.md, "one owner per transaction").
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata() -> MetaData:
    """A fresh MetaData for one service, with constraint names Alembic can diff and drop."""
    return MetaData(naming_convention=NAMING_CONVENTION)


#: Seconds to wait for a new connection: a database host that drops packets, rather than
#: refusing them, turns into a 503 after this long instead of asyncpg's default minute.
CONNECT_TIMEOUT_SECONDS = 10


def create_engine(
    url: str, *, pool_size: int = 10, pool_timeout: float = 30.0, echo: bool = False,
    pre_ping: bool = True,
) -> AsyncEngine:
    """An asyncpg-backed engine. A checkout that finds no free connection within
    ``pool_timeout`` seconds raises SQLAlchemy's ``TimeoutError`` (a request answers 503
    ``service_unavailable``).

    ``pre_ping`` tests every pooled connection before it is handed out: asyncpg pings in a
    transaction of its own, three round trips per checkout. Without it (the APIs and the
    workers' consumers), a connection that a restarted database closed fails its first
    statement as a transient fault (the request answers 503 with ``Retry-After``, the consumer
    retries) and SQLAlchemy then replaces every connection of the pool older than the fault.
    """
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_timeout=pool_timeout,
        pool_pre_ping=pre_ping, echo=echo, connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (no lazy reload on access)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def asyncpg_dsn(url: str) -> str:
    """The plain libpq DSN for asyncpg from a SQLAlchemy URL (drops the ``+asyncpg`` driver)."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)
