"""The identity service's API: ``create_app(settings)`` and the ``identity-api`` entry point."""

from __future__ import annotations

from fastapi import FastAPI

from city_shared.app import create_service_app
from city_shared.serve import serve
from identity_service.accounts.router import router as accounts_router
from identity_service.accounts.staff.router import router as staff_router
from identity_service.clients.router import router as clients_router
from identity_service.keys.router import router as keys_router
from identity_service.oauth.authorize_router import router as authorize_router
from identity_service.oauth.router import router as oidc_router
from identity_service.oauth.startup import start_oauth, stop_oauth
from identity_service.oauth.token_router import router as token_router
from identity_service.settings import IdentitySettings
from identity_service.tenancy.router import router as departments_router


def create_app(settings: IdentitySettings | None = None) -> FastAPI:
    """The ASGI app: accounts, departments, staff, OAuth clients, keys and the OIDC issuer."""
    app = create_service_app(
        settings or IdentitySettings(),
        title="City platform: identity",
        description="Tenants, departments, accounts, OAuth clients and the token issuer.",
        routers=[accounts_router, departments_router, staff_router,
                 oidc_router, keys_router, authorize_router, token_router, clients_router],
        on_startup=start_oauth,
        on_shutdown=stop_oauth,
    )
    # A person's token reaches identity's own API from any client of the tenant: self-service
    # concerns only the person's account, and administration needs a stepped-up login
    # (tenancy.access). Other services require a scope of theirs (ADR 0009).
    app.state.user_scope_namespace = None
    return app


def run() -> None:
    """Serve the API on ``CITY_HTTP_HOST:CITY_HTTP_PORT`` in ``CITY_HTTP_WORKERS`` processes."""
    serve(create_app, IdentitySettings())
