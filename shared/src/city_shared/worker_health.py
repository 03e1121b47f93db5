"""The worker's own HTTP endpoints: ``/healthz`` (liveness), ``/readyz`` and ``/metrics``.

They are served from the worker's event loop, so a stuck loop does not answer at all. Liveness
also fails when the consumer loop or the outbox relay has shown no sign of life for
``stale_after`` seconds (a waiting-out of a fault beats too, so an outage is not "dead").
Readiness says whether the consumer owns partitions and consumes, and whether consumer or relay
are waiting for a dependency; the JSON body carries the detail either way.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Protocol

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


class Component(Protocol):
    """What the worker's consumer and relay expose to the probes."""

    last_beat: float
    waiting_for: str | None


class WorkerHealth:
    """Liveness and readiness of one worker from its components' heartbeats.

    Until :meth:`attach` is called (the worker is still provisioning its topics, e.g. waiting
    for the broker) the worker is alive but not ready.
    """

    def __init__(self, *, stale_after: float = 120.0) -> None:
        self._relay: Component | None = None
        self._consumer: Component | None = None
        self._consumer_ready: asyncio.Event | None = None
        self._stale_after = stale_after

    def attach(self, *, relay: Component, consumer: Component | None,
               consumer_ready: asyncio.Event | None) -> None:
        """The components to watch, once they run."""
        self._relay, self._consumer, self._consumer_ready = relay, consumer, consumer_ready

    def liveness(self) -> tuple[bool, dict[str, object]]:
        """Alive while every component beat within ``stale_after`` seconds."""
        now = asyncio.get_running_loop().time()
        ages = {name: now - part.last_beat for name, part in self._parts().items()}
        stale = sorted(name for name, age in ages.items() if age > self._stale_after)
        detail: dict[str, object] = {"seconds_since_beat": {k: round(v, 1)
                                                            for k, v in ages.items()}}
        if stale:
            detail["stale"] = stale
        return not stale, detail

    def readiness(self) -> tuple[bool, dict[str, object]]:
        """Ready when the consumer (if any) owns partitions and nothing waits for a dependency."""
        if self._relay is None:
            return False, {"starting": True}
        waiting = {name: part.waiting_for for name, part in self._parts().items()
                   if part.waiting_for is not None}
        detail: dict[str, object] = {"waiting_for": waiting}
        ready = not waiting
        if self._consumer_ready is not None:
            detail["consumer_assigned"] = self._consumer_ready.is_set()
            ready = ready and self._consumer_ready.is_set()
        return ready, detail

    def _parts(self) -> dict[str, Component]:
        parts: dict[str, Component] = {}
        if self._relay is not None:
            parts["relay"] = self._relay
        if self._consumer is not None:
            parts["consumer"] = self._consumer
        return parts

    def app(self) -> Starlette:
        """The probe endpoints as an ASGI app."""

        async def healthz(_: Request) -> Response:
            ok, detail = self.liveness()
            return JSONResponse({"status": "ok" if ok else "stuck", **detail},
                                status_code=200 if ok else 503)

        async def readyz(_: Request) -> Response:
            ok, detail = self.readiness()
            return JSONResponse({"status": "ok" if ok else "unavailable", **detail},
                                status_code=200 if ok else 503)

        async def metrics(_: Request) -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

        return Starlette(routes=[Route("/healthz", healthz), Route("/readyz", readyz),
                                 Route("/metrics", metrics)])


class _InLoopServer(uvicorn.Server):
    """A uvicorn server that leaves signals to the worker (it owns SIGTERM/SIGINT)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_probes(health: WorkerHealth, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve ``health``'s endpoints on ``host:port`` until ``stop`` is set."""
    server = _InLoopServer(uvicorn.Config(health.app(), host=host, port=port, lifespan="off",
                                          log_level="warning", access_log=False))
    serving = asyncio.create_task(server.serve())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([serving, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        server.should_exit = True
        await serving
