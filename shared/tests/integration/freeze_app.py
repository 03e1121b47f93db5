"""The serving test API (:mod:`serve_app`) plus ``GET /freeze``, for the tests of
``CITY_API_METRICS_PORT`` and of a stuck event loop (``test_api_metrics_port.py``): served like
every service's entry point, ``python -c "from shared.tests.integration.freeze_app import main;
main()"`` from the repository root.

- ``GET /freeze``: writes the answering process's pid to ``$SERVE_TEST_FREEZE_FILE``, then
  blocks that process's event loop (a synchronous wait, as a CPU-bound or blocking call in a
  handler would) until ``$SERVE_TEST_RELEASE_FILE`` exists, two minutes at most.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from fastapi import APIRouter, FastAPI

from city_shared.app import create_service_app
from city_shared.serve import serve
from city_shared.settings import ServiceSettings

from .serve_app import router as serve_router

#: The longest a freeze lasts if the test never releases it.
FREEZE_SECONDS = 120

router = APIRouter()


@router.get("/freeze")
async def freeze() -> dict[str, str]:
    Path(os.environ["SERVE_TEST_FREEZE_FILE"]).write_text(str(os.getpid()))  # noqa: ASYNC240
    release = Path(os.environ["SERVE_TEST_RELEASE_FILE"])
    deadline = time.monotonic() + FREEZE_SECONDS
    while not release.exists() and time.monotonic() < deadline:  # noqa: ASYNC240
        time.sleep(0.05)  # noqa: ASYNC251 (blocks the loop on purpose)
    return {"status": "thawed"}


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The test API on ``settings`` (default: read from the environment)."""
    return create_service_app(settings or ServiceSettings(), title="freeze test",
                              description="Stuck event loop test app.",
                              routers=[serve_router, router])


def main() -> None:
    serve(create_app, ServiceSettings())
