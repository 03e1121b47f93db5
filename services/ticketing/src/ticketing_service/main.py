"""The ticketing service's API: ``create_app(settings)`` and the ``ticketing-api`` entry point."""

from __future__ import annotations

from fastapi import FastAPI

from city_shared.app import create_service_app
from city_shared.serve import serve
from ticketing_service.catalogue.router import router as catalogue_router
from ticketing_service.orders.router import router as orders_router
from ticketing_service.orders.stalls import stalled_orders
from ticketing_service.reports.router import router as reports_router
from ticketing_service.settings import TicketingSettings
from ticketing_service.tickets.router import router as tickets_router


def create_app(settings: TicketingSettings | None = None) -> FastAPI:
    """The ASGI app: catalogue and availability, orders, tickets and check-in, reports."""
    settings = settings or TicketingSettings()

    return create_service_app(
        settings,
        title="City platform: ticketing",
        description="Offerings, time slots, capacity, orders, tickets, passes and check-ins "
                    "for every department of a city.",
        routers=[catalogue_router, orders_router, tickets_router, reports_router],
        stalled_sagas=stalled_orders(settings),
    )


def run() -> None:
    """Serve the API on ``CITY_HTTP_HOST:CITY_HTTP_PORT`` in ``CITY_HTTP_WORKERS`` processes."""
    serve(create_app, TicketingSettings())
