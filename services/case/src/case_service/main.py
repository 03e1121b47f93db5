"""The case service's API: ``create_app(settings)`` and the ``case-api`` entry point."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from case_service.settings import CaseSettings
from city_shared.app import create_service_app


def create_app(settings: CaseSettings | None = None) -> FastAPI:
    """The ASGI app; later issues add its domain."""
    return create_service_app(
        settings or CaseSettings(),
        title="City platform: case",
        description="Case management: the service catalogue and applications (cases).",
    )


def run() -> None:
    """Serve the API with uvicorn on ``CITY_HTTP_HOST:CITY_HTTP_PORT``."""
    settings = CaseSettings()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port,
                access_log=False, log_config=None)
