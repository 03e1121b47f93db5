"""FastAPI dependencies of the payments slice: the app's settings and the slice's config, and
the caller's :class:`~payment_service.payments.access.Visibility`. Read per request from
``app.state`` (never global)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from city_shared.auth import CurrentPrincipal, Principal
from payment_service.payments import access
from payment_service.payments.access import Visibility
from payment_service.payments.service import PaymentConfig
from payment_service.settings import PaymentSettings

__all__ = [
    "PaymentConfigDep",
    "SettingsDep",
    "VisibilityDep",
    "WriterDep",
    "get_settings",
]


async def get_settings(request: Request) -> PaymentSettings:
    """A dependency: the app's :class:`PaymentSettings`."""
    settings = request.app.state.settings
    if not isinstance(settings, PaymentSettings):
        raise RuntimeError("the payment app must be built with PaymentSettings")
    return settings


SettingsDep = Annotated[PaymentSettings, Depends(get_settings)]


async def _config(settings: SettingsDep) -> PaymentConfig:
    return PaymentConfig.from_settings(settings)


PaymentConfigDep = Annotated[PaymentConfig, Depends(_config)]


async def _visibility(principal: CurrentPrincipal, settings: SettingsDep) -> Visibility:
    return access.visibility(principal, settings.client_sources)


VisibilityDep = Annotated[Visibility, Depends(_visibility)]
"""What the caller may read (403 for a client without a payment scope)."""


async def _writer(principal: CurrentPrincipal) -> Principal:
    return access.require_writer(principal)


WriterDep = Annotated[Principal, Depends(_writer)]
"""A machine client with ``payment:write`` (else 403)."""
