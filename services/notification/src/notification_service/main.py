"""The notification API: ``create_app(settings)`` and the ``notification-api`` entry point."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from city_shared.app import create_service_app
from notification_service.settings import NotificationSettings


def create_app(settings: NotificationSettings | None = None) -> FastAPI:
    """The ASGI app; later issues add its domain."""
    return create_service_app(
        settings or NotificationSettings(),
        title="City platform: notification",
        description="Templates, rules, deliveries, the citizen inbox and contact preferences.",
    )


def run() -> None:
    """Serve the API with uvicorn on ``CITY_HTTP_HOST:CITY_HTTP_PORT``."""
    settings = NotificationSettings()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port,
                access_log=False, log_config=None)
