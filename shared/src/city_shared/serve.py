"""Serving a service's API with uvicorn: in this process, or as ``CITY_HTTP_WORKERS`` processes
sharing one port. Every service's ``<service>-api`` entry point calls :func:`serve`.

Contract:

- ``http_workers == 1`` (the default): uvicorn serves ``create_app(settings)`` in this process,
  as before; nothing else changes.
- ``http_workers == N > 1``: this process becomes uvicorn's supervisor. It binds
  ``http_host:http_port`` once and starts N worker processes (spawned: each imports the service
  anew and builds its own app with ``create_app()``, which reads the same environment). Each
  worker has its own event loop, database pool (``database_pool_size``) and admission limit
  (``max_in_flight``): the kernel spreads connections over them. A worker that dies is replaced
  by the supervisor.
- Metrics: before the workers start, the supervisor creates a fresh directory of its own
  (``$TMPDIR/city-metrics-<service>-<pid>``; those of supervisors that are gone are removed)
  and exports it as ``PROMETHEUS_MULTIPROC_DIR``, so ``/metrics`` reports the whole API
  whichever worker answers (:func:`city_shared.metrics.exposition`). A worker drops its live
  gauges when it exits, a killed worker's are dropped at the next scrape. The directory is
  removed when the supervisor stops.
- ``CITY_API_METRICS_PORT`` set: ``/metrics`` is served on that port by one thread of this
  process (:mod:`city_shared.metrics_server`): with several workers the supervisor's, which
  merges every worker's values; the workers' public port answers 404 for it.
- Stopping: SIGTERM (or SIGINT) stops accepting connections at once and gives the requests in
  flight :data:`GRACEFUL_SHUTDOWN_SECONDS` to finish (then they are cancelled), so a pod stops
  within its ``terminationGracePeriodSeconds``. SIGTERM to the supervisor stops every worker
  so and then the supervisor; so does SIGTERM to their process group (they share the
  supervisor's). A worker whose supervisor was killed outright gets SIGTERM from the kernel
  (Linux parent-death signal), so no worker outlives it.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import importlib
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final, Protocol, TypeVar

import uvicorn
from starlette.types import ASGIApp

from city_shared.logs import configure_logging
from city_shared.metrics import MULTIPROC_DIR_VARIABLE, mark_process_dead, process_running
from city_shared.metrics_server import serving_metrics
from city_shared.settings import ServiceSettings

__all__ = ["AppFactory", "metrics_dir", "serve", "worker_app"]

log = logging.getLogger(__name__)

#: What the supervisor hands its workers through their environment (not settings).
_FACTORY_VARIABLE: Final = "_CITY_SERVE_FACTORY"
_SUPERVISOR_VARIABLE: Final = "_CITY_SERVE_SUPERVISOR_PID"
_PR_SET_PDEATHSIG: Final = 1
#: How long the supervisor waits for a worker to answer its health check (a pipe, answered by
#: a thread of the worker) before it kills and replaces it. uvicorn's 5 s is shorter than a
#: spawned worker's imports take on a busy machine: it killed workers that were starting.
WORKER_HEALTHCHECK_SECONDS: Final = 60
#: How long requests in flight may still run after SIGTERM (uvicorn's
#: ``timeout_graceful_shutdown``; its default waits for ever). The API pods' preStop delay plus
#: this plus the lifespan's shutdown fit in their ``terminationGracePeriodSeconds``
#: (deploy/k8s/base/service-template/api.yaml; tests/deploy/test_api_pods.py checks it).
GRACEFUL_SHUTDOWN_SECONDS: Final = 20

SettingsT_contra = TypeVar("SettingsT_contra", bound=ServiceSettings, contravariant=True)


class AppFactory(Protocol[SettingsT_contra]):
    """A service's module-level ``create_app``: ``create_app(settings)``, or ``create_app()``
    with the settings read from the environment (what each worker process calls)."""

    __module__: str
    __qualname__: str

    def __call__(self, settings: SettingsT_contra | None = None, /) -> ASGIApp: ...


def serve(create_app: AppFactory[SettingsT_contra], settings: SettingsT_contra) -> None:
    """Serve ``create_app`` on ``settings.http_host:http_port`` until SIGTERM or SIGINT, in
    ``settings.http_workers`` processes (see the module)."""
    if settings.http_workers == 1:
        app = create_app(settings)
        with _metrics_port(settings):
            uvicorn.run(app, host=settings.http_host, port=settings.http_port,
                        access_log=False, log_config=None,
                        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)
        return
    target = _import_path(create_app)
    configure_logging(settings.service_name, level=settings.log_level, json=settings.log_json)
    with metrics_dir(settings.service_name) as path, _environment({
        MULTIPROC_DIR_VARIABLE: str(path),
        _FACTORY_VARIABLE: target,
        _SUPERVISOR_VARIABLE: str(os.getpid()),
    }), _metrics_port(settings):
        log.info("serving with %d worker processes", settings.http_workers)
        uvicorn.run(f"{__name__}:{worker_app.__name__}", factory=True,
                    workers=settings.http_workers, host=settings.http_host,
                    port=settings.http_port, access_log=False, log_config=None,
                    timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
                    timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)


def worker_app() -> ASGIApp:
    """uvicorn's app factory in each worker process: stop with the supervisor, drop this
    process's live gauges at exit, then build the service's app from the environment."""
    supervisor = int(os.environ[_SUPERVISOR_VARIABLE])
    _signal_on_parent_death(signal.SIGTERM)
    if os.getppid() != supervisor:  # it died before the signal was armed
        raise SystemExit("the API supervisor is gone")
    atexit.register(_forget_self, os.getpid(), Path(os.environ[MULTIPROC_DIR_VARIABLE]))
    module, _, name = os.environ[_FACTORY_VARIABLE].partition(":")
    factory: AppFactory[ServiceSettings] = getattr(importlib.import_module(module), name)
    return factory()


@contextlib.contextmanager
def metrics_dir(service: str) -> Iterator[Path]:
    """A fresh, private directory for the metrics of one supervisor's workers, removed
    afterwards; first removes those a killed supervisor of ``service`` left behind."""
    base = Path(tempfile.gettempdir())
    prefix = f"city-metrics-{service}-"
    for old in base.glob(f"{prefix}*"):
        pid = old.name.removeprefix(prefix)
        if pid.isdigit() and (int(pid) == os.getpid() or not process_running(int(pid))):
            shutil.rmtree(old, ignore_errors=True)
    path = base / f"{prefix}{os.getpid()}"
    path.mkdir(mode=0o700)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _metrics_port(settings: ServiceSettings) -> contextlib.AbstractContextManager[object]:
    """The metrics server of ``CITY_API_METRICS_PORT`` for the block, or nothing (unset)."""
    if settings.api_metrics_port is None:
        return contextlib.nullcontext()
    log.info("serving /metrics on port %d", settings.api_metrics_port)
    return serving_metrics(settings.http_host, settings.api_metrics_port)


def _import_path(create_app: AppFactory[SettingsT_contra]) -> str:
    """``module:name`` of a module-level factory, which a spawned worker can import."""
    module, name = create_app.__module__, create_app.__qualname__
    if module == "__main__" or not name.isidentifier():
        raise ValueError(f"{module}:{name} is not an importable module-level app factory")
    return f"{module}:{name}"


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` in ``os.environ`` (which spawned workers inherit) for the block."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _signal_on_parent_death(sig: signal.Signals) -> None:
    """Have the kernel send ``sig`` to this process when its parent dies (Linux; elsewhere a
    no-op)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return
    libc = ctypes.CDLL(name, use_errno=True)
    prctl = getattr(libc, "prctl", None)
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)


def _forget_self(pid: int, path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        mark_process_dead(pid, path)
