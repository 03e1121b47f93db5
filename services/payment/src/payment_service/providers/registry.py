"""The providers configured in one process (API or worker), by name.

Built once by ``create_app``'s startup and by the worker, never at import time. Routes get them
through :data:`ProvidersDep`; the worker passes them to its handlers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from city_shared.errors import NotFound
from payment_service.payments.dependencies import SettingsDep
from payment_service.payments.errors import UnknownProvider
from payment_service.providers.base import PaymentProvider
from payment_service.providers.sandbox import SandboxProvider
from payment_service.settings import PaymentSettings

__all__ = ["Providers", "ProvidersDep", "build_providers", "get_providers", "require_sandbox"]


class Providers:
    """Providers by name, and the one new payments go to."""

    def __init__(self, providers: Mapping[str, PaymentProvider], default: str) -> None:
        self._providers = dict(providers)
        self._default = default

    @property
    def default(self) -> PaymentProvider:
        """The provider new payments are opened at.

        :raises UnknownProvider: (503) it is not configured here.
        """
        return self.get(self._default)

    def get(self, name: str) -> PaymentProvider:
        """The provider ``name`` (a payment's ``provider``).

        :raises UnknownProvider: (503) it is not configured here.
        """
        provider = self._providers.get(name)
        if provider is None:
            raise UnknownProvider()
        return provider

    def __contains__(self, name: object) -> bool:
        return name in self._providers


def build_providers(
    settings: PaymentSettings, session_factory: async_sessionmaker[AsyncSession] | None = None
) -> Providers:
    """The providers ``settings`` enable (today: the sandbox)."""
    providers: dict[str, PaymentProvider] = {}
    if settings.sandbox_enabled:
        providers["sandbox"] = SandboxProvider(
            base_url=settings.base_url,
            secret=settings.sandbox_webhook_secrets[0].get_secret_value(),
            session_factory=session_factory,
        )
    return Providers(providers, settings.default_provider)


async def get_providers(request: Request) -> Providers:
    """A dependency: the app's :class:`Providers` (set at startup)."""
    providers = getattr(request.app.state, "providers", None)
    if not isinstance(providers, Providers):
        raise RuntimeError("create_app's startup must set app.state.providers")
    return providers


ProvidersDep = Annotated[Providers, Depends(get_providers)]


async def require_sandbox(settings: SettingsDep) -> PaymentSettings:
    """A dependency: the settings, if the sandbox provider is enabled; else 404."""
    if not settings.sandbox_enabled:
        raise NotFound()
    return settings
