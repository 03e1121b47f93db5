"""FastAPI dependencies shared by the slices: the app's settings and the caller's
:class:`~city_shared.visibility.Visibility`. Read per request from ``app.state``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from city_shared.auth import CurrentPrincipal
from city_shared.visibility import Visibility
from notification_service.access import staff_scope
from notification_service.settings import NotificationSettings

__all__ = ["SettingsDep", "StaffScopeDep", "get_settings"]


async def get_settings(request: Request) -> NotificationSettings:
    """A dependency: the app's :class:`NotificationSettings`."""
    settings = request.app.state.settings
    if not isinstance(settings, NotificationSettings):
        raise RuntimeError("the notification app must be built with NotificationSettings")
    return settings


SettingsDep = Annotated[NotificationSettings, Depends(get_settings)]


async def _staff_scope(principal: CurrentPrincipal) -> Visibility:
    return staff_scope(principal)


StaffScopeDep = Annotated[Visibility, Depends(_staff_scope)]
"""Staff or tenant admin of the caller's tenant (else 403)."""
