"""Test support for every service: mint access tokens like identity does and serve their JWKS
without a network. No pytest dependency; never used by production code.

    tokens = TokenFactory()
    app.state.token_verifier = tokens.verifier()
    token = tokens.issue(kind="staff", roles={"museum": ["cashier"]}, acr="substantial")
    response = await client.get("/...", headers={"Authorization": f"Bearer {token}"})

Defaults match :class:`city_shared.settings.ServiceSettings` (issuer ``http://127.0.0.1:8001``,
audience ``city-platform``), so a verifier built from default settings accepts these tokens.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey, Key, KeyParameters, OKPKey, RSAKey

from city_shared.auth.jwks import JwksCache
from city_shared.auth.principal import AcrLevel, AdminLevel, Kind
from city_shared.auth.revocations import RevocationList, revocation_url
from city_shared.auth.verifier import TokenVerifier

__all__ = [
    "DEFAULT_AUDIENCE",
    "DEFAULT_ISSUER",
    "DEFAULT_TENANT",
    "DEFAULT_USER_SCOPE",
    "JWKS_URL",
    "JwksServer",
    "TokenFactory",
]

DEFAULT_ISSUER = "http://127.0.0.1:8001"
DEFAULT_AUDIENCE = "city-platform"
DEFAULT_TENANT = "stuttgart"
JWKS_URL = "http://identity.test/.well-known/jwks.json"
#: The scope of a person's token when a test names none: every service scope, as the citizen
#: portal gets it (a person's token needs a scope of the service it calls, ADR 0009).
DEFAULT_USER_SCOPE = (
    "case:read case:write notification:read payment:read payment:write ticketing:read "
    "ticketing:write"
)

KeyType = Literal["RSA", "EC", "OKP"]
_DEFAULT_ALG: dict[str, str] = {"RSA": "RS256", "EC": "ES256", "OKP": "EdDSA"}


class TokenFactory:
    """A fake issuer: holds signing key pairs and mints signed access tokens.

    Starts with one RSA key (kid ``rsa-1``), plus an Ed25519 key (``okp-1``) if ``ed25519``.
    Tokens carry ``typ: at+jwt``, a random ``jti`` and the claims described in
    :mod:`city_shared.auth.principal`. :meth:`revoke` puts a jti on the revocation list its
    :class:`JwksServer` serves.
    """

    def __init__(
        self,
        *,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
        tenant: str = DEFAULT_TENANT,
        ed25519: bool = False,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.tenant = tenant
        self._keys: dict[str, Key] = {}
        self._published: list[str] = []
        self.revoked: set[str] = set()
        self.default_kid = self.add_key("RSA", kid="rsa-1")
        if ed25519:
            self.add_key("OKP", kid="okp-1")

    def add_key(
        self,
        kty: KeyType = "RSA",
        *,
        kid: str | None = None,
        publish: bool = True,
        make_default: bool = False,
    ) -> str:
        """Generate a key pair; return its kid. ``publish=False`` keeps it out of the JWKS (a key
        identity does not know, or one to publish later with :meth:`publish`)."""
        kid = kid or f"{kty.lower()}-{len(self._keys) + 1}"
        params: KeyParameters = {"kid": kid, "use": "sig", "alg": _DEFAULT_ALG[kty]}
        key: Key
        if kty == "RSA":
            key = RSAKey.generate_key(2048, parameters=params)
        elif kty == "EC":
            key = ECKey.generate_key("P-256", parameters=params)
        else:
            key = OKPKey.generate_key("Ed25519", parameters=params)
        self._keys[kid] = key
        if publish:
            self.publish(kid)
        if make_default:
            self.default_kid = kid
        return kid

    def rotate(self, kty: KeyType = "RSA") -> str:
        """Publish a new key and sign with it from now on; the old keys stay published."""
        return self.add_key(kty, make_default=True)

    def publish(self, kid: str) -> None:
        """Put the key ``kid`` into the JWKS."""
        if kid not in self._published:
            self._published.append(kid)

    def retire(self, kid: str) -> None:
        """Take the key ``kid`` out of the JWKS (tokens signed with it stop verifying)."""
        self._published.remove(kid)

    def revoke(self, token_or_jti: str) -> None:
        """Revoke a token (or a jti) as identity does: list its ``jti`` as revoked."""
        if token_or_jti.count(".") == 2:
            payload = token_or_jti.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            token_or_jti = str(claims["jti"])
        self.revoked.add(token_or_jti)

    def revocations(self) -> dict[str, list[str] | int]:
        """The revocation list, as identity serves it beside the JWKS."""
        return {"revoked": sorted(self.revoked), "max_age": 0}

    def jwks(self) -> dict[str, list[dict[str, str | list[str]]]]:
        """The published public keys, as identity serves them at ``/.well-known/jwks.json``."""
        return {"keys": [self._keys[kid].as_dict(private=False) for kid in self._published]}

    def public_pem(self, kid: str | None = None) -> bytes:
        """The PEM (SubjectPublicKeyInfo) of a public key, e.g. for an independent verifier."""
        key = self._keys[kid or self.default_kid]
        assert isinstance(key, RSAKey | ECKey | OKPKey)
        return key.as_pem(private=False)

    def issue(
        self,
        *,
        sub: str = "user-1",
        tenant: str | None = None,
        kind: Kind | str = "citizen",
        roles: Mapping[str, Iterable[str]] | None = None,
        scope: str | Iterable[str] | None = None,
        acr: AcrLevel | str = "substantial",
        admin: AdminLevel | None = None,
        client_id: str | None = None,
        jti: str | None = None,
        typ: str | None = "at+jwt",
        aud: str | list[str] | None = None,
        iss: str | None = None,
        exp_in: int = 300,
        nbf_in: int | None = None,
        now: int | None = None,
        kid: str | None = None,
        alg: str | None = None,
        signing_kid: str | None = None,
        extra: Mapping[str, Any] | None = None,
        omit: Iterable[str] = (),
    ) -> str:
        """A signed access token.

        ``exp = now + exp_in`` (negative: already expired), ``iat = now``, ``nbf = now + nbf_in``
        if given. ``kid`` goes into the header; the token is signed with ``signing_kid``
        (default: ``kid``, default: :attr:`default_kid`) and ``alg`` (default: the key's).
        ``extra`` adds or overrides claims, ``omit`` removes them (after ``extra``). A person's
        token without ``scope`` gets :data:`DEFAULT_USER_SCOPE`; ``typ=None`` leaves the header
        without ``typ``.
        """
        issued = int(time.time()) if now is None else now
        header_kid = kid or self.default_kid
        key = self._keys[signing_kid or header_kid]
        claims: dict[str, Any] = {
            "iss": self.issuer if iss is None else iss,
            "aud": self.audience if aud is None else aud,
            "sub": sub,
            "tenant": tenant or self.tenant,
            "kind": kind,
            "acr": acr,
            "iat": issued,
            "exp": issued + exp_in,
            "jti": jti or secrets.token_hex(16),
        }
        if scope is None and kind != "client":
            scope = DEFAULT_USER_SCOPE
        if roles:
            claims["roles"] = {department: sorted(r) for department, r in roles.items()}
        if scope is not None:
            claims["scope"] = scope if isinstance(scope, str) else " ".join(scope)
        if admin is not None:
            claims["admin"] = admin
        if client_id is not None:
            claims["client_id"] = client_id
        if nbf_in is not None:
            claims["nbf"] = issued + nbf_in
        claims.update(extra or {})
        for name in omit:
            claims.pop(name, None)
        algorithm = alg or _DEFAULT_ALG[key.key_type]
        header = {"alg": algorithm, "kid": header_kid}
        if typ is not None:
            header["typ"] = typ
        return jwt.encode(header, claims, key, algorithms=[algorithm])

    def jwks_server(self) -> JwksServer:
        """A fake identity serving this factory's current JWKS."""
        return JwksServer(self)

    def verifier(
        self,
        *,
        audience: str | None = None,
        server: JwksServer | None = None,
        min_refresh_interval: float = 0,
        algorithms: tuple[str, ...] = ("RS256", "ES256", "EdDSA"),
    ) -> TokenVerifier:
        """A verifier that trusts this factory (over a :class:`JwksServer`, no network)."""
        server = server or self.jwks_server()
        cache = JwksCache(JWKS_URL, server.client(), min_refresh_interval=min_refresh_interval)
        return TokenVerifier(cache, self.issuer, audience or self.audience, algorithms,
                             revocations=_FactoryRevocations(self, cache.http))


class _FactoryRevocations(RevocationList):
    """The factory's revocation list, read directly: a revocation applies at once and costs
    no request (tests of other behaviour run many requests at once)."""

    def __init__(self, factory: TokenFactory, http: httpx.AsyncClient) -> None:
        super().__init__(revocation_url(JWKS_URL), http)
        self._factory = factory

    async def is_revoked(self, jti: str) -> bool:
        return jti in self._factory.revoked


class JwksServer:
    """Serves a :class:`TokenFactory`'s JWKS and revocation list (as they are at request time)
    through an ``httpx.MockTransport``; counts JWKS requests (``requests``) and revocation list
    requests (``revocation_requests``); can be switched ``available = False`` (503)."""

    def __init__(self, factory: TokenFactory) -> None:
        self.factory = factory
        self.requests = 0
        self.revocation_requests = 0
        self.available = True
        self.transport = httpx.MockTransport(self._handle)

    def client(self) -> httpx.AsyncClient:
        """An ``AsyncClient`` whose requests reach this server only."""
        return httpx.AsyncClient(transport=self.transport)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == httpx.URL(revocation_url(JWKS_URL)).path:
            self.revocation_requests += 1
            if not self.available:
                return httpx.Response(503)
            return httpx.Response(200, json=self.factory.revocations())
        self.requests += 1
        if not self.available:
            return httpx.Response(503)
        if request.url.path != httpx.URL(JWKS_URL).path:
            return httpx.Response(404)
        return httpx.Response(200, json=self.factory.jwks())
