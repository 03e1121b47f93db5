"""Where a rehearsal keeps its WAL archive and base backups: a directory, or an S3 bucket
written by barman-cloud (the tools CloudNativePG's barman-cloud plugin runs) on moto's S3
server on 127.0.0.1. Both give PostgreSQL the ``archive_command`` and ``restore_command`` it
runs itself, take a base backup of a running server and lay the latest one into a new data
directory. Commands that touch a data directory run as ``postgres`` when we are root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from devstack.ports import free_port
from devstack.postgres import PostgresServer, find_bin_dir

ROOT = Path(__file__).resolve().parents[2]
#: moto accepts any key; these only keep barman-cloud from looking for real credentials.
S3_ENV = {"AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal",
          "AWS_DEFAULT_REGION": "us-east-1"}
BUCKET = "city-backups"
SERVER_NAME = "source-db"


def as_postgres(*argv: str, env: dict[str, str] | None = None
                ) -> subprocess.CompletedProcess[str]:
    """Run a command as the account that owns the data (PostgreSQL refuses root)."""
    full = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "PGTZ": "UTC", **(env or {})}
    if os.geteuid() != 0:
        return subprocess.run(list(argv), capture_output=True, text=True, env=full, check=False)
    account = pwd.getpwnam("postgres")
    full["HOME"] = account.pw_dir
    return subprocess.run(list(argv), capture_output=True, text=True, env=full, check=False,
                          cwd="/", user=account.pw_uid, group=account.pw_gid, extra_groups=[])


def chown_tree(path: Path) -> None:
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        for item in [path, *path.rglob("*")]:
            os.chown(item, account.pw_uid, account.pw_gid, follow_symlinks=False)


def owned_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    chown_tree(path)
    path.chmod(0o700)
    return path


def checked(result: subprocess.CompletedProcess[str], what: str) -> None:
    assert result.returncode == 0, f"{what} failed:\n{result.stderr[-2000:]}"


class Archive(Protocol):
    def archive_command(self) -> str: ...
    def restore_command(self) -> str: ...
    def base_backup(self, server: PostgresServer) -> None: ...
    def restore_base(self, data_dir: Path) -> None: ...


class DirectoryArchive:
    """WAL segments copied into a directory; the base backup by ``pg_basebackup -X none``."""

    def __init__(self, root: Path) -> None:
        self.wal = owned_dir(root / "wal-archive")
        self.base = root / "base-backup"

    def archive_command(self) -> str:
        return f"test ! -f {self.wal}/%f && cp %p {self.wal}/%f"

    def restore_command(self) -> str:
        return f"cp {self.wal}/%f %p"

    def base_backup(self, server: PostgresServer) -> None:
        checked(as_postgres(str(find_bin_dir() / "pg_basebackup"), "-D", str(self.base),
                            "-h", server.host, "-p", str(server.port), "-U", "postgres",
                            "-X", "none", "-c", "fast", "--no-sync"), "pg_basebackup")

    def restore_base(self, data_dir: Path) -> None:
        shutil.copytree(self.base, data_dir, symlinks=True)
        chown_tree(data_dir)


class BarmanCloudArchive:
    """barman-cloud-wal-archive / -backup / -restore / -wal-restore against an S3 bucket."""

    def __init__(self, bin_dir: Path, endpoint: str) -> None:
        self.bin_dir = bin_dir
        self.endpoint = endpoint
        self.url = f"s3://{BUCKET}/"

    def _tool(self, name: str) -> str:
        env = " ".join(f"{k}={v}" for k, v in S3_ENV.items())
        return f"env {env} {self.bin_dir / name} --endpoint-url {self.endpoint}"

    def archive_command(self) -> str:
        return f"{self._tool('barman-cloud-wal-archive')} -z {self.url} {SERVER_NAME} %p"

    def restore_command(self) -> str:
        return f"{self._tool('barman-cloud-wal-restore')} {self.url} {SERVER_NAME} %f %p"

    def base_backup(self, server: PostgresServer) -> None:
        checked(as_postgres(
            "sh", "-c", f"{self._tool('barman-cloud-backup')} -h {server.host} "
            f"-p {server.port} -U postgres {self.url} {SERVER_NAME}"), "barman-cloud-backup")

    def restore_base(self, data_dir: Path) -> None:
        checked(as_postgres("sh", "-c", f"{self._tool('barman-cloud-restore')} {self.url} "
                            f"{SERVER_NAME} latest {data_dir}"), "barman-cloud-restore")


def barman_cloud_bin() -> Path | None:
    """The directory of barman-cloud's and moto's commands (install_barman_cloud.sh)."""
    configured = os.environ.get("CITY_TEST_BARMAN_CLOUD_BIN")
    places = ([Path(configured)] if configured else
              [Path("/opt/city-test-tools/barman-cloud/bin"),
               ROOT / ".local" / "barman-cloud" / "bin"])
    needed = ("barman-cloud-backup", "barman-cloud-wal-archive", "barman-cloud-restore",
              "barman-cloud-wal-restore", "moto_server")
    return next((place for place in places
                 if all((place / name).is_file() for name in needed)), None)


@contextmanager
def s3_server(bin_dir: Path) -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 with an empty bucket, for the block; yields its URL."""
    port = free_port()
    process = subprocess.Popen([str(bin_dir / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "moto_server exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "moto_server did not listen"
                time.sleep(0.05)
        endpoint = f"http://127.0.0.1:{port}"
        create = (f"import boto3; boto3.client('s3', endpoint_url='{endpoint}')"
                  f".create_bucket(Bucket='{BUCKET}')")
        checked(subprocess.run([str(bin_dir / "python"), "-c", create], capture_output=True,
                               text=True, env={**os.environ, **S3_ENV}, check=False),
                "creating the bucket")
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
