"""The service steps of the stack: migrations, API and worker processes, the demo seeds.

Contract: every service process gets its settings from `service_env` (its own database, the
stack's Kafka, its port on 127.0.0.1, identity as token issuer), runs from the repository root,
and logs to `<stack dir>/logs/<name>-{api,worker,migrate}.log`. Waiting functions fail fast
when the process they wait for exits, and name the URL they polled.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from devstack.children import Child, describe_exit, run_command
from devstack.config import LOOPBACK, ServiceConfig, StackConfig
from devstack.progress import StepFailed

# Per-process settings a developer's shell may export; the stack sets its own.
_PER_PROCESS = (
    "CITY_SERVICE_NAME",
    "CITY_DATABASE_URL",
    "CITY_HTTP_HOST",
    "CITY_HTTP_PORT",
    "CITY_HTTP_WORKERS",
    "CITY_WORKER_METRICS_PORT",
)


def _script(name: str) -> str:
    """A console script of this virtualenv (beside the running interpreter)."""
    candidate = Path(sys.executable).parent / name
    if not candidate.exists():
        raise StepFailed(f"{candidate} not found: run `uv sync --all-packages` first")
    return str(candidate)


def base_env(environ: Mapping[str, str], config: StackConfig) -> dict[str, str]:
    """The environment every child starts from: the caller's, with the stack-wide settings."""
    env = {k: v for k, v in environ.items() if k not in _PER_PROCESS}
    identity = next(s for s in config.services if s.name == "identity")
    case = next(s for s in config.services if s.name == "case")
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "CITY_KAFKA_BOOTSTRAP_SERVERS": config.bootstrap_servers,
            "CITY_AUTH_ISSUER": identity.base_url,
            "CITY_AUTH_JWKS_URL": f"{identity.base_url}/.well-known/jwks.json",
            # case prefills forms from identity's verified attributes.
            "CITY_IDENTITY_URL": identity.base_url,
            # notification attaches case documents (the decision) fetched from here only.
            "CITY_DOCUMENT_SOURCES": json.dumps([f"{case.base_url}/documents/signed/"]),
            "CITY_SMTP_HOST": LOOPBACK,
            "CITY_SMTP_PORT": str(config.smtp_port),
        }
    )
    env.setdefault("CITY_LOG_JSON", "false")  # people read these logs; override to get JSON
    env.setdefault("CITY_LOG_LEVEL", "INFO")
    # The local demo may log in at level `substantial` through the sandbox eID provider.
    env.setdefault("CITY_SANDBOX_EID_ENABLED", "true")
    # The demo frontend (its redirect URIs in the identity seed) calls the APIs from the browser.
    env.setdefault("CITY_CORS_ALLOWED_ORIGINS", "http://127.0.0.1:5173,http://localhost:5173")
    return env


def service_env(
    base: Mapping[str, str], service: ServiceConfig, database_url: str
) -> dict[str, str]:
    """`base` plus one service's database, HTTP address and worker metrics port."""
    return {
        **base,
        "CITY_DATABASE_URL": database_url,
        "CITY_HTTP_HOST": LOOPBACK,
        "CITY_HTTP_PORT": str(service.api_port),
        "CITY_WORKER_METRICS_PORT": str(service.metrics_port),
    }


async def migrate(
    config: StackConfig, service: ServiceConfig, env: Mapping[str, str]
) -> None:
    """`alembic -c services/<name>/alembic.ini upgrade head` (idempotent)."""
    ini = config.repo / "services" / service.name / "alembic.ini"
    await run_command(
        [sys.executable, "-m", "alembic", "-c", str(ini), "upgrade", "head"],
        env=env,
        log_file=config.logs_dir / f"{service.name}-migrate.log",
        cwd=config.repo,
        what=f"migrations of {service.name}",
    )


async def migrate_all(
    config: StackConfig, envs: Mapping[str, Mapping[str, str]]
) -> None:
    """Migrate every service's database concurrently; raises the first failure."""
    results = await asyncio.gather(
        *(migrate(config, s, envs[s.name]) for s in config.services), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result


def api_child(config: StackConfig, service: ServiceConfig, env: Mapping[str, str]) -> Child:
    """The service's API, served by `service.api_workers` processes (`CITY_HTTP_WORKERS`): the
    child is their supervisor, and stopping its process group stops them all."""
    name = f"{service.name}-api"
    env = {**env, "CITY_HTTP_WORKERS": str(service.api_workers)}
    return Child(name, [_script(name)], env=env, log_file=config.logs_dir / f"{name}.log",
                 cwd=config.repo)


def worker_child(config: StackConfig, service: ServiceConfig, env: Mapping[str, str]) -> Child:
    name = f"{service.name}-worker"
    return Child(name, [_script(name)], env=env, log_file=config.logs_dir / f"{name}.log",
                 cwd=config.repo)


async def wait_http_ok(child: Child, url: str, deadline: float, timeout: float) -> None:
    """Poll `url` until it answers 200; `StepFailed` if `child` exits or `deadline` passes."""
    last = "no answer yet"
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            code = child.returncode()
            if code is not None:
                raise StepFailed(
                    f"{child.name} {describe_exit(code)} before {url} answered",
                    child.log_file,
                )
            try:
                response = await client.get(url)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}"
            else:
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}"
            await asyncio.sleep(0.25)
    raise StepFailed(
        f"{child.name} did not answer {url} with 200 within {timeout:.0f}s (last: {last}); "
        f"set CITY_STACK_READY_TIMEOUT to wait longer",
        child.log_file,
    )


async def wait_all_ok(pairs: Sequence[tuple[Child, str]], timeout: float) -> None:
    """`wait_http_ok` for every (child, url) at once with one shared deadline."""
    deadline = time.monotonic() + timeout
    tasks = [asyncio.create_task(wait_http_ok(c, u, deadline, timeout)) for c, u in pairs]
    try:
        for task in asyncio.as_completed(tasks):
            await task
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def seed_commands(config: StackConfig) -> list[tuple[str, list[str]]]:
    """The demo seeds in the order they run, as (service, arguments of ``python -m``):
    identity writes the demo file, case reads the citizens' account ids from it (for its demo
    cases) and merges its ids, ticketing merges its ids, notification adds the templates and
    rules. Each is idempotent."""
    demo = str(config.demo_file)
    return [
        ("identity", ["identity_service.seed", "--out", demo]),
        ("case", ["case_service.seed", "--demo-file", demo]),
        ("ticketing", ["ticketing_service.seed", "--demo-file", demo]),
        ("notification", ["notification_service.seed"]),
    ]


async def seed(config: StackConfig, envs: Mapping[str, Mapping[str, str]]) -> None:
    """Run every demo seed with its service's environment (see :func:`seed_commands`)."""
    for service, args in seed_commands(config):
        await run_command(
            [sys.executable, "-m", *args], env=envs[service],
            log_file=config.logs_dir / f"seed-{service}.log", cwd=config.repo,
            what=f"the {service} seed",
        )
