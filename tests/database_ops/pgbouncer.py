"""A PgBouncer of our own on 127.0.0.1 in front of a test PostgreSQL, for the pooling tests.

Which binary: ``CITY_TEST_PGBOUNCER``, else ``/opt/city-test-tools/pgbouncer/bin/pgbouncer``
(built there by ``tests/database_ops/build_pgbouncer.sh`` as root: the ``postgres`` account runs
it and may not reach the checkout) or ``.local/pgbouncer/bin/pgbouncer``, else ``pgbouncer``
on the PATH or in /usr/sbin.
Prepared statements in transaction mode need PgBouncer 1.21 or later (the CloudNativePG image
has 1.25); Debian 12's package is 1.18, so CI builds a newer one from Debian's source package.

PgBouncer refuses to run as root: as root it is started as the ``postgres`` system user (the
same account the test PostgreSQL runs as), with its files in a directory that user owns.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PREPARED_STATEMENTS_SINCE = (1, 21)


def candidates() -> Iterator[Path]:
    configured = os.environ.get("CITY_TEST_PGBOUNCER")
    if configured:
        yield Path(configured)
    yield Path("/opt/city-test-tools/pgbouncer/bin/pgbouncer")
    yield ROOT / ".local" / "pgbouncer" / "bin" / "pgbouncer"
    found = shutil.which("pgbouncer")
    if found:
        yield Path(found)
    yield Path("/usr/sbin/pgbouncer")


def version(binary: Path) -> tuple[int, int] | None:
    """PgBouncer's (major, minor), or None when ``binary`` is not a runnable PgBouncer."""
    if not binary.is_file():
        return None
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"PgBouncer (\d+)\.(\d+)", out.stdout)
    return (int(match.group(1)), int(match.group(2))) if match else None


def find(minimum: tuple[int, int] = PREPARED_STATEMENTS_SINCE) -> Path | None:
    """The first PgBouncer at least ``minimum``, or None."""
    for binary in candidates():
        found = version(binary)
        if found is not None and found >= minimum:
            return binary
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(binary: Path, workdir: Path, *, server_host: str, server_port: int,
            settings: dict[str, str]) -> Iterator[int]:
    """PgBouncer for the block, in transaction mode, logging in to the server as ``postgres``
    (the test server trusts loopback connections); yields its port."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    lines = {
        "listen_addr": "127.0.0.1",
        "listen_port": str(port),
        "unix_socket_dir": "",
        "auth_type": "any",
        "pool_mode": "transaction",
        "logfile": str(workdir / "pgbouncer.log"),
        "pidfile": str(workdir / "pgbouncer.pid"),
        "ignore_startup_parameters": "extra_float_digits",
        **settings,
    }
    ini = "[databases]\n* = host={} port={} user=postgres\n\n[pgbouncer]\n{}\n".format(
        server_host, server_port, "\n".join(f"{k} = {v}" for k, v in lines.items()))
    (workdir / "pgbouncer.ini").write_text(ini)
    preexec = None
    if os.geteuid() == 0:
        # A copy next to its config, so the account needs no way into the checkout.
        binary = Path(shutil.copy2(binary, workdir / "pgbouncer"))
        account = pwd.getpwnam("postgres")
        shutil.chown(workdir, account.pw_uid, account.pw_gid)
        for path in workdir.iterdir():
            shutil.chown(path, account.pw_uid, account.pw_gid)

        def preexec() -> None:
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)

    process = subprocess.Popen(
        [str(binary), str(workdir / "pgbouncer.ini")], preexec_fn=preexec,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"pgbouncer exited: {error}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port
    finally:
        # SIGQUIT: immediate shutdown (since 1.23 SIGTERM waits for every client to leave).
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
