"""FastAPI dependencies every ticketing slice uses: the settings, the caller's order
visibility and the process's memory of sold-out slots. All async: FastAPI runs a sync
dependency in its thread pool, a thread hop per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from city_shared.auth import CurrentPrincipal
from ticketing_service.access import OrderVisibility, order_visibility
from ticketing_service.orders.sold_out import SoldOutSlots
from ticketing_service.settings import TicketingSettings

__all__ = ["OrderVisibilityDep", "SettingsDep", "SoldOutDep"]


async def get_settings(request: Request) -> TicketingSettings:
    """The app's settings (set by ``create_service_app``)."""
    settings = request.app.state.settings
    assert isinstance(settings, TicketingSettings)
    return settings


SettingsDep = Annotated[TicketingSettings, Depends(get_settings)]


async def _visibility(principal: CurrentPrincipal) -> OrderVisibility:
    return order_visibility(principal)


OrderVisibilityDep = Annotated[OrderVisibility, Depends(_visibility)]


async def _sold_out(request: Request) -> SoldOutSlots:
    """The app's memory of sold-out slots (``app.state.sold_out_slots``; made on first use, a
    test may set its own first)."""
    state = request.app.state
    memory = getattr(state, "sold_out_slots", None)
    if memory is None:
        memory = state.sold_out_slots = SoldOutSlots()
    assert isinstance(memory, SoldOutSlots)
    return memory


SoldOutDep = Annotated[SoldOutSlots, Depends(_sold_out)]
