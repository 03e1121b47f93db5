"""The ticketing service's API: ``create_app(settings)`` and the ``ticketing-api`` entry point."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from city_shared.app import create_service_app
from ticketing_service.settings import TicketingSettings


def create_app(settings: TicketingSettings | None = None) -> FastAPI:
    """The ASGI app; later issues add its domain."""
    return create_service_app(
        settings or TicketingSettings(),
        title="City platform: ticketing",
        description="Offerings, time slots, capacity, orders, tickets, passes and check-ins.",
    )


def run() -> None:
    """Serve the API with uvicorn on ``CITY_HTTP_HOST:CITY_HTTP_PORT``."""
    settings = TicketingSettings()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port,
                access_log=False, log_config=None)
