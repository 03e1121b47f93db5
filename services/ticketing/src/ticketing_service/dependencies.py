"""FastAPI dependencies every ticketing slice uses: the settings and the caller's order
visibility."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from city_shared.auth import CurrentPrincipal
from ticketing_service.access import OrderVisibility, order_visibility
from ticketing_service.settings import TicketingSettings

__all__ = ["OrderVisibilityDep", "SettingsDep"]


def get_settings(request: Request) -> TicketingSettings:
    """The app's settings (set by ``create_service_app``)."""
    settings = request.app.state.settings
    assert isinstance(settings, TicketingSettings)
    return settings


SettingsDep = Annotated[TicketingSettings, Depends(get_settings)]


async def _visibility(principal: CurrentPrincipal) -> OrderVisibility:
    return order_visibility(principal)


OrderVisibilityDep = Annotated[OrderVisibility, Depends(_visibility)]
