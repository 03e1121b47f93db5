"""The payment service's API: ``create_app(settings)`` and the ``payment-api`` entry point."""

from __future__ import annotations

from fastapi import FastAPI

from city_shared.app import create_service_app
from city_shared.serve import serve
from payment_service.ledger.router import router as ledger_router
from payment_service.payments.router import router as payments_router
from payment_service.payments.stalls import stalled_payments
from payment_service.providers.registry import build_providers
from payment_service.providers.sandbox_page import router as sandbox_page_router
from payment_service.providers.webhooks import router as webhooks_router
from payment_service.refunds.router import router as refunds_router
from payment_service.reports.router import router as reports_router
from payment_service.settings import PaymentSettings


def create_app(settings: PaymentSettings | None = None) -> FastAPI:
    """The ASGI app: payments, the sandbox provider's pay page and webhooks, refunds, the
    ledger and the reconciliation report."""
    settings = settings or PaymentSettings()

    async def start(app: FastAPI) -> None:
        app.state.providers = build_providers(settings, app.state.session_factory)

    return create_service_app(
        settings,
        title="City platform: payment",
        description="Payments, refunds and the revenue ledger per department.",
        routers=[payments_router, webhooks_router, sandbox_page_router, refunds_router,
                 ledger_router, reports_router],
        on_startup=start,
        stalled_sagas=stalled_payments(settings),
    )


def run() -> None:
    """Serve the API on ``CITY_HTTP_HOST:CITY_HTTP_PORT`` in ``CITY_HTTP_WORKERS`` processes."""
    serve(create_app, PaymentSettings())
