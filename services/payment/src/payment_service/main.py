"""The payment service's API: ``create_app(settings)`` and the ``payment-api`` entry point."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from city_shared.app import create_service_app
from payment_service.settings import PaymentSettings


def create_app(settings: PaymentSettings | None = None) -> FastAPI:
    """The ASGI app; later issues add its domain."""
    return create_service_app(
        settings or PaymentSettings(),
        title="City platform: payment",
        description="Payments, refunds and the revenue ledger per department.",
    )


def run() -> None:
    """Serve the API with uvicorn on ``CITY_HTTP_HOST:CITY_HTTP_PORT``."""
    settings = PaymentSettings()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port,
                access_log=False, log_config=None)
