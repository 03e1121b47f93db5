"""Minting access tokens (RFC 9068 JWT profile) and ID tokens, and the token response.

Access token: header ``typ: at+jwt`` and ``kid``; claims ``iss``, ``sub``, ``aud`` (the
platform audience), ``exp``, ``iat``, ``jti``, ``client_id``, ``scope``, ``tenant``, ``kind``,
``acr``, ``roles`` and ``admin`` when present, ``auth_time`` for a person's login.

The ``jti`` of a token issued for a code or refresh token is derived from that grant's hash
(:func:`derived_jti`), so revoking a family can revoke its live access tokens without storing
every jti. Machine tokens get random jtis.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identity_service.keys.service import KeyRing

__all__ = ["Minter", "Subject", "TokenResponse", "derived_jti", "grant_hash", "new_grant_value"]


def new_grant_value() -> str:
    """A new code or refresh token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def grant_hash(value: str) -> str:
    """The stored form of a code or refresh token (SHA-256, hex). Values are random and long,
    so a fast hash suffices: no guessing attack can use it."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def derived_jti(hashed_grant: str) -> str:
    """The jti of the access token issued in exchange for the grant with this hash."""
    return hashlib.sha256(f"access-token:{hashed_grant}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Subject:
    """Who a token is about: an account (citizen/staff) or a client (``kind="client"``)."""

    sub: str
    tenant: str
    kind: str
    roles: Mapping[str, list[str]]
    admin: str | None


@dataclass(frozen=True)
class TokenResponse:
    """A successful token response (RFC 6749 section 5.1 plus ``id_token``)."""

    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None
    id_token: str | None = None

    def body(self) -> dict[str, str | int]:
        """The JSON body."""
        out: dict[str, str | int] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        }
        if self.refresh_token is not None:
            out["refresh_token"] = self.refresh_token
        if self.id_token is not None:
            out["id_token"] = self.id_token
        return out


class Minter:
    """Signs the issuer's tokens with the active key of ``keyring``."""

    def __init__(
        self, keyring: KeyRing, *, issuer: str, audience: str, access_ttl: timedelta
    ) -> None:
        self.keyring = keyring
        self.issuer = issuer
        self.audience = audience
        self.access_ttl = access_ttl

    async def access_token(
        self,
        session: AsyncSession,
        subject: Subject,
        *,
        client_id: str,
        scope: str,
        acr: str,
        jti: str,
        now: datetime,
        auth_time: datetime | None = None,
    ) -> str:
        """A signed access token (see the module doc) valid for ``access_ttl``."""
        issued = int(now.timestamp())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject.sub,
            "aud": self.audience,
            "exp": issued + int(self.access_ttl.total_seconds()),
            "iat": issued,
            "jti": jti,
            "client_id": client_id,
            "scope": scope,
            "tenant": subject.tenant,
            "kind": subject.kind,
            "acr": acr,
        }
        if subject.roles:
            claims["roles"] = {dept: list(roles) for dept, roles in subject.roles.items()}
        if subject.admin is not None:
            claims["admin"] = subject.admin
        if auth_time is not None:
            claims["auth_time"] = int(auth_time.timestamp())
        return await self.keyring.sign(session, claims, typ="at+jwt", now=now)

    async def id_token(
        self,
        session: AsyncSession,
        *,
        sub: str,
        tenant: str,
        client_id: str,
        acr: str,
        auth_time: datetime,
        nonce: str | None,
        profile: Mapping[str, str | bool],
        now: datetime,
    ) -> str:
        """An OpenID Connect ID token for ``client_id`` (``aud`` and ``azp``), carrying the
        userinfo claims the granted scopes release (``profile``)."""
        issued = int(now.timestamp())
        claims: dict[str, Any] = {
            **profile,
            "iss": self.issuer,
            "sub": sub,
            "aud": client_id,
            "azp": client_id,
            "exp": issued + int(self.access_ttl.total_seconds()),
            "iat": issued,
            "auth_time": int(auth_time.timestamp()),
            "acr": acr,
            "tenant": tenant,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        return await self.keyring.sign(session, claims, typ="JWT", now=now)
