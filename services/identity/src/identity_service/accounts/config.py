"""The accounts slice's tunables, read from :class:`IdentitySettings` per request (never global)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

from identity_service.settings import IdentitySettings

__all__ = [
    "LoginPolicy",
    "LoginPolicyDep",
    "VerificationConfig",
    "VerificationConfigDep",
    "login_policy",
    "verification_config",
]


@dataclass(frozen=True)
class LoginPolicy:
    """Lock an account for ``lockout`` after ``max_failures`` consecutive failed logins."""

    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)

    @classmethod
    def from_settings(cls, settings: IdentitySettings) -> LoginPolicy:
        """``login_max_failures`` and ``login_lockout_seconds``."""
        return cls(settings.login_max_failures, timedelta(seconds=settings.login_lockout_seconds))


@dataclass(frozen=True)
class VerificationConfig:
    """Where verification links point (the token goes into the URL fragment, so it never
    reaches a server log) and how long they stay valid."""

    url: str = "http://localhost:3000/verify-email"
    ttl: timedelta = timedelta(hours=24)

    @classmethod
    def from_settings(cls, settings: IdentitySettings) -> VerificationConfig:
        """``email_verification_url`` and ``email_verification_ttl_seconds``."""
        return cls(
            settings.email_verification_url,
            timedelta(seconds=settings.email_verification_ttl_seconds),
        )

    def link(self, token: str) -> str:
        """The link sent to the person."""
        return f"{self.url}#token={token}"


def _settings(request: Request) -> IdentitySettings:
    settings = request.app.state.settings
    if not isinstance(settings, IdentitySettings):
        raise RuntimeError("the identity app must be built with IdentitySettings")
    return settings


async def login_policy(request: Request) -> LoginPolicy:
    """A dependency: the app's :class:`LoginPolicy`."""
    return LoginPolicy.from_settings(_settings(request))


async def verification_config(request: Request) -> VerificationConfig:
    """A dependency: the app's :class:`VerificationConfig`."""
    return VerificationConfig.from_settings(_settings(request))


LoginPolicyDep = Annotated[LoginPolicy, Depends(login_policy)]
VerificationConfigDep = Annotated[VerificationConfig, Depends(verification_config)]
