"""Create and drop databases on a PostgreSQL server reachable through an admin DSN.

`DatabaseAdmin` works on any server (one started by `PostgresServer` or an external one named
by `CITY_TEST_DATABASE_ADMIN_URL`); it never starts or stops a server.
"""

from __future__ import annotations

import contextlib
import re
from urllib.parse import urlsplit, urlunsplit

import asyncpg

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
ASYNC_SCHEME = "postgresql+asyncpg"


class InvalidDatabaseName(ValueError):
    """A database name outside `[a-z_][a-z0-9_]{0,62}` (so it never needs quoting rules)."""


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidDatabaseName(f"invalid database name {name!r}: use [a-z_][a-z0-9_]{{0,62}}")
    return name


def plain_dsn(url: str) -> str:
    """Return `url` with any `+driver` suffix removed from the scheme (as libpq/asyncpg expect)."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URL: {url!r}")
    return urlunsplit(parts._replace(scheme="postgresql"))


class DatabaseAdmin:
    """Database lifecycle on an existing server; `controllable` is False (it cannot be stopped)."""

    controllable: bool = False

    def __init__(self, admin_dsn: str) -> None:
        self._admin_dsn = plain_dsn(admin_dsn)

    @property
    def admin_dsn(self) -> str:
        """A `postgresql://` DSN of a superuser (or CREATEDB role) on the maintenance database."""
        return self._admin_dsn

    def database_url(self, name: str) -> str:
        """The SQLAlchemy async URL (`postgresql+asyncpg://...`) of database `name`."""
        parts = urlsplit(self._admin_dsn)
        return urlunsplit(parts._replace(scheme=ASYNC_SCHEME, path="/" + _check_name(name)))

    async def database_exists(self, name: str) -> bool:
        conn = await asyncpg.connect(self._admin_dsn)
        try:
            found = await conn.fetchval(
                "SELECT 1 FROM pg_database WHERE datname = $1", _check_name(name)
            )
        finally:
            await conn.close()
        return found is not None

    async def create_database(self, name: str, *, template: str | None = None) -> str:
        """Create database `name` unless it exists; return its async URL. Idempotent.

        With `template` the new database is a file-level copy of that database
        (`CREATE DATABASE ... TEMPLATE ...`), which PostgreSQL refuses while anyone else is
        connected to the template.
        """
        _check_name(name)
        source = "" if template is None else f' TEMPLATE "{_check_name(template)}"'
        conn = await asyncpg.connect(self._admin_dsn)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            # A concurrent creator leaves the database the caller asked for: not an error.
            if exists is None:
                with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                    await conn.execute(f'CREATE DATABASE "{name}"{source}')
        finally:
            await conn.close()
        return self.database_url(name)

    async def close_to_connections(self, name: str) -> None:
        """Refuse new connections to database `name` (`ALLOW_CONNECTIONS false`), as a template
        must have none while it is copied; the owner may still copy and drop it."""
        conn = await asyncpg.connect(self._admin_dsn)
        try:
            await conn.execute(f'ALTER DATABASE "{_check_name(name)}" ALLOW_CONNECTIONS false')
        finally:
            await conn.close()

    async def drop_database(self, name: str) -> None:
        """Drop database `name` if it exists, terminating its open connections. Idempotent."""
        _check_name(name)
        conn = await asyncpg.connect(self._admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
