"""A PostgreSQL 15 cluster of our own, started from the Debian server binaries, on 127.0.0.1 only.

Contract: `data_dir` is the cluster directory (PGDATA). The first `start()` runs initdb with a
superuser `postgres` and *trust* authentication, accepted only over the data directory's Unix
socket and TCP on the loopback address, so it suits a local or test cluster and nothing shared.
The server log is `<data_dir>/server.log`, the Unix socket lives in `<data_dir>`. PostgreSQL
refuses to run as root: when euid is 0 every server binary runs as the `postgres` system user and
the data directory is chowned to it (its parents must be searchable by that user). `start()` on
a cluster that is already running on the same port adopts it; `stop()` stops whatever runs on
`data_dir`. Databases are created and dropped through `devstack.databases.DatabaseAdmin`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devstack.databases import DatabaseAdmin
from devstack.processes import log_tail

DEBIAN_BIN_DIR = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "postgres"
_CONF_INCLUDE = "include_if_exists = 'devstack.conf'\n"
_HBA = (
    "# Written by devstack: trust on the Unix socket and loopback only.\n"
    "local all all trust\n"
    "host  all all 127.0.0.1/32 trust\n"
    "host  all all ::1/128 trust\n"
)


class PostgresError(RuntimeError):
    """initdb, pg_ctl or the server itself failed; the message carries the log tail."""


def find_bin_dir() -> Path:
    """The directory of the PostgreSQL server binaries (Debian 15, else `pg_config --bindir`)."""
    if (DEBIAN_BIN_DIR / "pg_ctl").exists():
        return DEBIAN_BIN_DIR
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True)
        candidate = Path(out.stdout.strip())
        if (candidate / "pg_ctl").exists():
            return candidate
    raise PostgresError("PostgreSQL server binaries not found (install postgresql-15)")


@dataclass(frozen=True)
class _RunAs:
    uid: int
    gid: int
    home: str


def _run_as() -> _RunAs | None:
    """The account to run server binaries as: `postgres` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam("postgres")
    return _RunAs(entry.pw_uid, entry.pw_gid, entry.pw_dir)


class PostgresServer:
    """One PostgreSQL cluster on `host:port`, owned by the caller; `controllable` is True."""

    controllable: bool = True

    def __init__(
        self,
        data_dir: Path,
        port: int,
        host: str = "127.0.0.1",
        *,
        fsync: bool = True,
        max_connections: int = 200,
        bin_dir: Path | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.host = host
        self.fsync = fsync
        self.max_connections = max_connections
        self.start_timeout = start_timeout
        self._bin_dir = bin_dir
        self._run_as = _run_as()
        self._admin = DatabaseAdmin(self.admin_dsn)

    @property
    def admin_dsn(self) -> str:
        """`postgresql://postgres@<host>:<port>/postgres` (no password: trust authentication)."""
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/postgres"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    @property
    def admin(self) -> DatabaseAdmin:
        return self._admin

    # -- lifecycle (blocking) ---------------------------------------------------------------

    def start_sync(self) -> None:
        """Initialise the cluster if needed and start it; returns once it accepts connections.

        Idempotent: a server already running on `data_dir` with our port is adopted.
        """
        self._prepare_data_dir()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self._write_config()
        running_port = self._running_port()
        if running_port is not None:
            if running_port != self.port:
                raise PostgresError(
                    f"a server already runs on {self.data_dir} with port {running_port}, "
                    f"not {self.port}"
                )
        else:
            result = self._pg(
                "pg_ctl",
                "start",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                str(int(self.start_timeout)),
                "-s",
            )
            if result.returncode != 0:
                raise self._error("pg_ctl start failed", result)
        self._wait_ready()

    def stop_sync(self, mode: str = "fast") -> None:
        """Stop the server on `data_dir` (`mode`: smart, fast or immediate). No-op if stopped."""
        if not (self.data_dir / "postmaster.pid").exists():
            return
        result = self._pg(
            "pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", "-s"
        )
        if result.returncode != 0 and self._running_port() is not None:
            raise self._error("pg_ctl stop failed", result)

    def kill(self) -> None:
        """Immediate shutdown for interpreter exit; never raises."""
        with contextlib.suppress(PostgresError, OSError):
            self.stop_sync(mode="immediate")

    def is_running(self) -> bool:
        return self._running_port() is not None

    # -- lifecycle (async wrappers, run in a worker thread) ----------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self.start_sync)

    async def stop(self) -> None:
        await asyncio.to_thread(self.stop_sync)

    # -- databases ---------------------------------------------------------------------------

    async def create_database(self, name: str, *, template: str | None = None) -> str:
        """Create `name` unless it exists (a copy of `template` if given); return
        `postgresql+asyncpg://...:<port>/<name>`."""
        return await self._admin.create_database(name, template=template)

    async def close_to_connections(self, name: str) -> None:
        """Refuse new connections to `name` (see `DatabaseAdmin.close_to_connections`)."""
        await self._admin.close_to_connections(name)

    async def drop_database(self, name: str) -> None:
        """Drop `name` if it exists, terminating its connections."""
        await self._admin.drop_database(name)

    def database_url(self, name: str) -> str:
        return self._admin.database_url(name)

    # -- internals ---------------------------------------------------------------------------

    def _bin(self, name: str) -> str:
        if self._bin_dir is None:
            self._bin_dir = find_bin_dir()
        return str(self._bin_dir / name)

    def _pg(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        return self._run(self._bin(program), *args)

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """Run a command as `postgres` when we are root, with a minimal environment, from `/`."""
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "PGTZ": "UTC"}
        if self._run_as is None:
            env["HOME"] = os.environ.get("HOME", "/")
            return subprocess.run(list(argv), capture_output=True, text=True, env=env, cwd="/")
        env["HOME"] = self._run_as.home
        return subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            env=env,
            cwd="/",
            user=self._run_as.uid,
            group=self._run_as.gid,
            extra_groups=[],
        )

    def _chown(self, path: Path) -> None:
        if self._run_as is not None:
            os.chown(path, self._run_as.uid, self._run_as.gid)

    def _prepare_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.data_dir)
        self.data_dir.chmod(0o700)
        if self._run_as is not None:
            probe = self._run("test", "-w", str(self.data_dir), "-a", "-x", str(self.data_dir))
            if probe.returncode != 0:
                raise self._error(
                    f"the postgres user cannot use {self.data_dir} (are its parents searchable?)",
                    probe,
                )

    def _initdb(self) -> None:
        result = self._pg(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "--no-instructions",
        )
        if result.returncode != 0:
            raise self._error("initdb failed", result)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n" + _CONF_INCLUDE)
        (self.data_dir / "pg_hba.conf").write_text(_HBA)

    def _write_config(self) -> None:
        durable = "on" if self.fsync else "off"
        path = self.data_dir / "devstack.conf"
        path.write_text(
            "# Rewritten by devstack on every start.\n"
            f"listen_addresses = '{self.host}'\n"
            f"port = {self.port}\n"
            f"unix_socket_directories = '{self.data_dir}'\n"
            f"max_connections = {self.max_connections}\n"
            f"fsync = {durable}\n"
            f"synchronous_commit = {durable}\n"
            f"full_page_writes = {durable}\n"
            "timezone = 'UTC'\n"
        )
        self._chown(path)

    def _running_port(self) -> int | None:
        """The port of the server running on `data_dir`, or None when none runs."""
        if not (self.data_dir / "postmaster.pid").exists():
            return None
        if self._pg("pg_ctl", "status", "-D", str(self.data_dir)).returncode != 0:
            return None
        lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else self.port

    def _wait_ready(self) -> None:
        result = self._pg(
            "pg_isready",
            "-q",
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-U",
            SUPERUSER,
            "-t",
            str(int(self.start_timeout)),
        )
        if result.returncode != 0:
            raise self._error(
                f"server on {self.host}:{self.port} is not accepting connections", result
            )

    def _error(self, what: str, result: subprocess.CompletedProcess[str]) -> PostgresError:
        output = (result.stdout + result.stderr).strip()
        return PostgresError(
            f"{what} (exit {result.returncode}) for {self.data_dir}\n{output}\n"
            f"--- tail of {self.log_file} ---\n{log_tail(self.log_file)}"
        )
