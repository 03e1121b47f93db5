"""The faults of ``make chaos``: SIGKILL one process of a running local stack and measure when
it is back.

A process is named as ``stack.json`` names it (``kafka``, ``postgresql``, ``<service>-api``,
``<service>-worker``). Killing PostgreSQL kills the postmaster and every backend at once, as a
dying pod or machine would (the postmaster alone would leave its backends behind). "Back" means
the stack's supervisor runs a new process and it answers: an API ``/readyz`` 200, a worker
``/readyz`` 200 on its metrics port, the broker its metadata, PostgreSQL a query.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from aiokafka.admin import AIOKafkaAdminClient

from devstack.config import LOOPBACK
from devstack.state import find_child, read_state
from devstack.testing import LocalStack

DEFAULT_KILLS = ("kafka", "postgresql", "payment-worker", "ticketing-worker",
                 "notification-worker", "ticketing-api", "payment-api", "notification-api")
QUICK_KILLS = ("kafka", "payment-worker")
#: Seconds a readiness probe may take (Kubernetes' default is 1 s; a loaded laptop needs more).
PROBE_TIMEOUT = 3.0


@dataclass(frozen=True)
class Recovery:
    """How long after the kill the killed process answered again, and the whole stack did
    (every API and worker ready); None: not within the timeout."""

    killed_pid: int
    back_after: float | None
    all_ready_after: float | None
    restarts: int
    not_ready: dict[str, str]
    """What was still not ready at the end of the wait (empty when all were)."""


def admin_dsn(stack: LocalStack, database: str = "postgres") -> str:
    """The stack's own cluster, as its superuser (trust authentication on loopback)."""
    return f"postgresql://postgres@{LOOPBACK}:{stack.config.postgres_port}/{database}"


def child_pid(stack: LocalStack, name: str) -> int | None:
    state = read_state(stack.config.state_file)
    child = None if state is None else find_child(state, name)
    return None if child is None or child.status != "running" else child.pid


def child_restarts(stack: LocalStack, name: str) -> int:
    state = read_state(stack.config.state_file)
    child = None if state is None else find_child(state, name)
    return 0 if child is None else child.restarts


def _descendants(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (a postmaster's backends and helpers)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def kill(stack: LocalStack, name: str) -> int:
    """SIGKILL the running process ``name`` (with its process group, and a postmaster's
    backends); returns the killed pid."""
    pid = child_pid(stack, name)
    if pid is None:
        raise RuntimeError(f"{name} is not running (stack.json); cannot kill it")
    victims = [pid] + (_descendants(pid) if name == "postgresql" else [])
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
    for victim in victims:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(victim, signal.SIGKILL)
    return pid


async def _http_status(http: httpx.AsyncClient, url: str) -> str:
    """``ok`` for a 200, else what came instead (``HTTP 503``, ``ReadTimeout``, ...)."""
    try:
        code = (await http.get(url)).status_code
    except httpx.HTTPError as exc:
        return type(exc).__name__
    return "ok" if code == 200 else f"HTTP {code}"


async def _kafka_ok(bootstrap: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await asyncio.wait_for(admin.start(), 5.0)
        await asyncio.wait_for(admin.list_topics(), 5.0)
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
    return True


async def _postgres_ok(dsn: str) -> bool:
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError, asyncpg.InterfaceError):
        return False
    try:
        return bool(await conn.fetchval("SELECT 1"))
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
    finally:
        with contextlib.suppress(Exception):
            await conn.close()


def probe_url(stack: LocalStack, name: str) -> str | None:
    """The readiness URL of an API or worker (None for the broker and PostgreSQL)."""
    service, _, kind = name.rpartition("-")
    config = next((s for s in stack.config.services if s.name == service), None)
    if config is None:
        return None
    if kind == "api":
        return f"{config.base_url}/readyz"
    if kind == "worker":
        return f"http://{LOOPBACK}:{config.metrics_port}/readyz"
    return None


async def answer(stack: LocalStack, name: str, http: httpx.AsyncClient) -> str:
    """``ok`` when ``name`` answers as described in the module docstring, else why not."""
    if name == "kafka":
        return "ok" if await _kafka_ok(stack.config.bootstrap_servers) else "no metadata"
    if name == "postgresql":
        return "ok" if await _postgres_ok(admin_dsn(stack)) else "no query"
    url = probe_url(stack, name)
    return "unknown process" if url is None else await _http_status(http, url)


async def not_ready(stack: LocalStack, http: httpx.AsyncClient) -> dict[str, str]:
    """The APIs and workers that do not answer ``/readyz`` with 200 right now, with what
    they answered instead (probe timeout ``PROBE_TIMEOUT``)."""
    names = [f"{s.name}-{kind}" for s in stack.config.services for kind in ("api", "worker")]
    found = await asyncio.gather(*(answer(stack, n, http) for n in names))
    return {n: why for n, why in zip(names, found, strict=True) if why != "ok"}


async def kill_and_recover(stack: LocalStack, name: str, timeout: float) -> Recovery:
    """Kill ``name`` and wait (up to ``timeout`` s) until it and then the whole stack are back."""
    started = time.monotonic()
    killed = kill(stack, name)
    back: float | None = None
    ready: float | None = None
    waiting: dict[str, str] = {name: "killed"}
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as http:
        while time.monotonic() - started < timeout:
            now = time.monotonic() - started
            if back is None:
                pid = child_pid(stack, name)
                if pid is None or pid == killed:
                    waiting = {name: "not restarted yet"}
                elif (why := await answer(stack, name, http)) != "ok":
                    waiting = {name: why}
                else:
                    back = time.monotonic() - started
            if back is not None:
                waiting = await not_ready(stack, http)
                if not waiting:
                    ready = time.monotonic() - started
                    break
            await asyncio.sleep(max(0.0, 0.5 - (time.monotonic() - started - now)))
    return Recovery(killed, back, ready, child_restarts(stack, name), waiting)
