"""The identity service's API: ``create_app(settings)`` and the ``identity-api`` entry point."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from city_shared.app import create_service_app
from identity_service.settings import IdentitySettings


def create_app(settings: IdentitySettings | None = None) -> FastAPI:
    """The ASGI app; later issues add accounts, tenants and the OAuth2 endpoints."""
    return create_service_app(
        settings or IdentitySettings(),
        title="City platform: identity",
        description="Tenants, departments, accounts, OAuth clients and the token issuer.",
    )


def run() -> None:
    """Serve the API with uvicorn on ``CITY_HTTP_HOST:CITY_HTTP_PORT``."""
    settings = IdentitySettings()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port,
                access_log=False, log_config=None)
