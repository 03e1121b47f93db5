"""A small service API for the multi-process serving tests (``test_serve_workers.py``), served
like every service's entry point: ``python -c "from shared.tests.integration.serve_app import
main; main()"`` from the repository root, with ``CITY_SERVICE_NAME`` and ``CITY_HTTP_*`` in the
environment. It needs no database (nothing here opens a connection).

- ``GET /pid``: the answering process's pid, after blocking its event loop for a moment, so
  that concurrent requests spread over the workers (a blocked worker accepts no connection);
- ``GET /hang``: writes the answering process's pid to ``$SERVE_TEST_HANG_FILE`` and stays in
  flight for two minutes;
- ``GET /own-metrics``: what ``/metrics`` answered before the API had several processes: the
  answering process's registry alone (the negative control).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from fastapi import APIRouter, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from city_shared.app import create_service_app
from city_shared.serve import serve
from city_shared.settings import ServiceSettings

router = APIRouter()


@router.get("/pid")
async def pid() -> dict[str, int]:
    # Blocks the loop on purpose: meanwhile the next connection goes to another worker.
    time.sleep(0.05)  # noqa: ASYNC251
    return {"pid": os.getpid()}


@router.get("/hang")
async def hang() -> dict[str, str]:
    Path(os.environ["SERVE_TEST_HANG_FILE"]).write_text(str(os.getpid()))  # noqa: ASYNC240
    await asyncio.sleep(120)
    return {"status": "done"}


@router.get("/own-metrics")
async def own_metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The test API on ``settings`` (default: read from the environment)."""
    return create_service_app(settings or ServiceSettings(), title="serve test",
                              description="Multi-process serving test app.", routers=[router])


def main() -> None:
    serve(create_app, ServiceSettings())
