"""FastAPI dependencies of the cases slice: the app's settings and the caller's case
visibility."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from case_service.access import case_visibility
from case_service.settings import CaseSettings
from city_shared.auth import CurrentPrincipal
from city_shared.visibility import Visibility

__all__ = ["CaseVisibilityDep", "SettingsDep"]


def get_settings(request: Request) -> CaseSettings:
    """The settings the app was built with."""
    settings = request.app.state.settings
    assert isinstance(settings, CaseSettings)
    return settings


def get_visibility(principal: CurrentPrincipal) -> Visibility:
    """What the caller may read of cases (403 for a client without ``case:read``)."""
    return case_visibility(principal)


SettingsDep = Annotated[CaseSettings, Depends(get_settings)]
CaseVisibilityDep = Annotated[Visibility, Depends(get_visibility)]
