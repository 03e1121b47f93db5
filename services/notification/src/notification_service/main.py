"""The notification API: ``create_app(settings)`` and the ``notification-api`` entry point."""

from __future__ import annotations

from fastapi import FastAPI

from city_shared.app import create_service_app
from city_shared.serve import serve
from notification_service.channels.router import router as sandbox_router
from notification_service.deliveries.router import router as notifications_router
from notification_service.inbox.router import router as inbox_router
from notification_service.preferences.router import router as preferences_router
from notification_service.rules.router import router as rules_router
from notification_service.settings import NotificationSettings
from notification_service.templates.router import router as templates_router


def create_app(settings: NotificationSettings | None = None) -> FastAPI:
    """The ASGI app: templates, rules, notifications (send + status), the citizen inbox,
    contact preferences and the sandbox SMS record. Sending happens in the worker."""
    return create_service_app(
        settings or NotificationSettings(),
        title="City platform: notification",
        description="Templates, rules, deliveries, the citizen inbox and contact preferences.",
        routers=[templates_router, rules_router, notifications_router, inbox_router,
                 preferences_router, sandbox_router],
    )


def run() -> None:
    """Serve the API on ``CITY_HTTP_HOST:CITY_HTTP_PORT`` in ``CITY_HTTP_WORKERS`` processes."""
    serve(create_app, NotificationSettings())
