"""HTTP models of the client admin API: ``ClientCreate`` / ``ClientUpdate`` / ``ClientRead``."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Annotated, Self
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, RSAKey
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from identity_service.clients.models import AuthMethod, ClientKind, Jwk
from identity_service.clients.scopes import SCOPES, GrantType

__all__ = ["ClientCreate", "ClientCreated", "ClientJwks", "ClientRead", "ClientSecretRead",
           "ClientUpdate", "check_redirect_uri"]

_LOOPBACK_NAMES = frozenset({"localhost"})


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_redirect_uri(uri: str) -> str:
    """Accept an absolute redirect URI without fragment or user info: ``https``, ``http`` on a
    loopback host only (RFC 8252 section 7.3), or a private-use scheme in reverse-domain form
    (``de.musterstadt.app:/callback``, RFC 8252 section 7.1). Matched exactly later."""
    if len(uri) > 2000 or any(c.isspace() or ord(c) < 0x20 for c in uri):
        raise ValueError("must be at most 2000 characters without whitespace")
    parts = urlsplit(uri)
    if "#" in uri:
        raise ValueError("must not contain a fragment")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain user information")
    if parts.scheme == "https" and parts.hostname:
        return uri
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return uri
    if "." in parts.scheme and not parts.netloc and parts.path:
        return uri
    raise ValueError("must be https, http on a loopback address, or a reverse-domain scheme")


def _known_scope(scope: str) -> str:
    if scope not in SCOPES:
        raise ValueError("is not in the scope catalogue")
    return scope


def _printable(value: str) -> str:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("must not contain control characters")
    return value


RedirectUri = Annotated[str, AfterValidator(check_redirect_uri)]
Scope = Annotated[str, AfterValidator(_known_scope)]
Text = Annotated[str, AfterValidator(_printable)]


class ClientJwks(BaseModel):
    """The client's public keys for ``private_key_jwt`` (RSA >= 2048 bits, EC or OKP)."""

    model_config = ConfigDict(extra="forbid")

    keys: list[Jwk] = Field(min_length=1, max_length=5)

    @model_validator(mode="after")
    def _public_signature_keys(self) -> Self:
        for jwk in self.keys:
            for value in jwk.values():
                for item in [value] if isinstance(value, str) else value:
                    _printable(item)
            if jwk.get("kty") not in ("RSA", "EC", "OKP"):
                raise ValueError("keys must be RSA, EC or OKP keys")
            if "d" in jwk or "p" in jwk:
                raise ValueError("keys must be public keys: never send a private key")
            if jwk.get("use", "sig") != "sig":
                raise ValueError("keys must be signature keys")
            try:
                key = JWKRegistry.import_key(dict(jwk))
            except (JoseError, ValueError, TypeError):
                raise ValueError("keys must be valid JWKs") from None
            if isinstance(key, RSAKey) and key.raw_value.key_size < 2048:
                raise ValueError("RSA keys must have at least 2048 bits")
        return self


class ClientCreate(BaseModel):
    """Register a client. ``client_id`` is generated if omitted; ``tenant`` defaults to the
    admin's own tenant (only a platform admin may name another)."""

    model_config = ConfigDict(extra="forbid")

    client_id: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9._-]{2,99}$")
    tenant: Text | None = Field(default=None, min_length=1, max_length=63)
    name: Text = Field(min_length=1, max_length=200)
    kind: ClientKind
    auth_method: AuthMethod
    grant_types: list[GrantType] = Field(min_length=1, max_length=3)
    redirect_uris: list[RedirectUri] = Field(default_factory=list, max_length=20)
    allowed_scopes: list[Scope] = Field(default_factory=list, max_length=len(SCOPES))
    jwks: ClientJwks | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        grants = set(self.grant_types)
        if len(grants) != len(self.grant_types) or len(set(self.allowed_scopes)) != len(
            self.allowed_scopes
        ) or len(set(self.redirect_uris)) != len(self.redirect_uris):
            raise ValueError("grant_types, allowed_scopes and redirect_uris must not repeat")
        if (self.kind == "public") != (self.auth_method == "none"):
            raise ValueError("public clients, and only they, use auth_method 'none'")
        if (self.auth_method == "private_key_jwt") != (self.jwks is not None):
            raise ValueError("jwks is required for private_key_jwt and only for it")
        if self.kind == "public" and "client_credentials" in grants:
            raise ValueError("a public client cannot use client_credentials")
        if "refresh_token" in grants and "authorization_code" not in grants:
            raise ValueError("refresh_token needs authorization_code")
        if ("authorization_code" in grants) != bool(self.redirect_uris):
            raise ValueError("redirect_uris are required for authorization_code and only for it")
        return self


class ClientUpdate(BaseModel):
    """Change a client: fields left out stay as they are. Lists replace the old lists."""

    model_config = ConfigDict(extra="forbid")

    name: Text | None = Field(default=None, min_length=1, max_length=200)
    redirect_uris: list[RedirectUri] | None = Field(default=None, max_length=20)
    allowed_scopes: list[Scope] | None = Field(default=None, max_length=len(SCOPES))
    jwks: ClientJwks | None = None


class ClientRead(BaseModel):
    """A client as the admin API shows it; never its secret or secret hash."""

    model_config = ConfigDict(from_attributes=True)

    client_id: str
    tenant: str
    name: str
    kind: ClientKind
    auth_method: AuthMethod
    grant_types: list[GrantType]
    redirect_uris: list[str]
    allowed_scopes: list[str]
    jwks: ClientJwks | None
    created_at: datetime
    secret_rotated_at: datetime | None
    disabled_at: datetime | None


class ClientCreated(ClientRead):
    """The new client; ``client_secret`` is shown this once (null for clients without one)."""

    client_secret: str | None


class ClientSecretRead(BaseModel):
    """A new secret, shown this once; the previous secret stopped working."""

    client_id: str
    client_secret: str
    secret_rotated_at: datetime
