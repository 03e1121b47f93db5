"""What the protocol endpoints share at runtime, built once by :func:`.startup.start_oauth`
and kept on ``app.state.oauth``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from city_shared.auth.principal import AcrLevel
from identity_service.keys.service import KeyRing
from identity_service.oauth.assurance import ExternalIdentityProvider, highest_level
from identity_service.oauth.grants import GrantPolicy
from identity_service.oauth.login_page import LoginPages
from identity_service.settings import IdentitySettings

__all__ = ["OAuthRuntime", "Runtime", "get_runtime"]


@dataclass(frozen=True)
class OAuthRuntime:
    """Settings, keys, lifetimes, pages and the external identity providers."""

    settings: IdentitySettings
    keyring: KeyRing
    policy: GrantPolicy
    pages: LoginPages
    providers: tuple[ExternalIdentityProvider, ...]

    @property
    def issuer(self) -> str:
        """The issuer identifier (``iss``), without a trailing slash."""
        return self.settings.auth_issuer.rstrip("/")

    @property
    def audience(self) -> str:
        """The ``aud`` of every access token."""
        return self.settings.auth_audience

    def url(self, path: str) -> str:
        """The absolute URL of an endpoint of this issuer."""
        return f"{self.issuer}{path}"

    def provider(self, method: str) -> ExternalIdentityProvider | None:
        """The external identity provider behind a login form's ``login_method``."""
        return next((p for p in self.providers if p.method == method), None)

    @property
    def max_level(self) -> AcrLevel:
        """The highest level of assurance any login method here proves."""
        return highest_level(self.providers)


def get_runtime(request: Request) -> OAuthRuntime:
    """The app's :class:`OAuthRuntime`."""
    runtime = getattr(request.app.state, "oauth", None)
    if not isinstance(runtime, OAuthRuntime):
        raise RuntimeError("the identity startup hook must set app.state.oauth")
    return runtime


Runtime = Annotated[OAuthRuntime, Depends(get_runtime)]
