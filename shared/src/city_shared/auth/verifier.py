"""Local verification of identity's access tokens (signed JWTs) into a :class:`Principal`.

No request calls identity: keys come from the :class:`JwksCache`, revoked token ids from the
:class:`RevocationList` (both refreshed in the background of a request now and then, never per
request). A token that verified is remembered per process (a bounded LRU keyed by the token's
SHA-256), so a client's next requests with it skip the signature check and the decoding; what
can change since is checked on every use all the same (see :class:`TokenVerifier`). Every
rejection is the same
:class:`NotAuthenticated` with the same detail, so a caller learns nothing about which check
failed; the reason is logged at debug level (never the token or its claims).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jws import JWSRegistry

from city_shared.auth.jwks import JwksCache, JwksUnavailable, PublicKey
from city_shared.auth.principal import Principal
from city_shared.auth.revocations import RevocationList, revocation_url
from city_shared.errors import NotAuthenticated, ServiceUnavailable

__all__ = ["ASYMMETRIC_ALGORITHMS", "REQUIRED_CLAIMS", "TokenVerifier"]

logger = logging.getLogger(__name__)

#: Algorithms a verifier may be configured with: asymmetric signatures only.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
    | {"EdDSA", "Ed25519"}
)
#: Claims a token must carry (besides ``aud`` and ``iss``, which must match).
REQUIRED_CLAIMS = ("sub", "tenant", "kind", "acr", "exp", "iat")

# RFC 9068: an access token says so in ``typ``; an ID token (``JWT``) or a token without
# ``typ`` never passes as one.
_ACCEPTED_TYP = frozenset({"at+jwt", "application/at+jwt"})
_REJECTED_HEADERS = frozenset({"crit", "b64", "jwk", "jku", "x5u", "x5c"})
_DETAIL = "The access token is missing, malformed, expired or not valid for this service."


class _Rejected(Exception):
    """Internal: why a token was rejected, for the debug log only."""


@dataclass(frozen=True, slots=True)
class _Verified:
    """A token whose signature and claims verified, with what is re-checked on every use."""

    principal: Principal
    claims: dict[str, Any]
    kid: str
    key: PublicKey
    jti: str | None


class TokenVerifier:
    """Verifies a compact JWS access token and returns its :class:`Principal`.

    Checks, in order: shape; header (``alg`` in the allow-list, a ``kid``, ``typ`` is
    ``at+jwt``, so an ID token never passes, no embedded keys or ``crit``); the key for ``kid``
    exists and its type fits ``alg`` (an HMAC token "signed" with a public key never verifies:
    HS* is not allowed); signature; claims: ``iss`` equals ``issuer``, ``aud`` is or contains
    ``audience``, ``exp`` (required) and ``nbf``/``iat`` (with ``leeway_seconds``), and
    :data:`REQUIRED_CLAIMS`; the claims' shape (:meth:`Principal.from_claims`); last, a token
    with a ``jti`` is not on identity's revocation list (``revocations``; default: the list
    beside the JWKS, read with the JWKS's client).

    The last ``cache_size`` tokens that verified are remembered (by their SHA-256; 0 turns the
    cache off). A remembered token is accepted again only if its ``kid`` still resolves to the
    very key object that verified it (a key rotated out of the JWKS, or any JWKS refetch,
    sends the token through the full check again), its claims still validate at this moment
    (``exp``/``nbf``/``iat`` with the leeway) and its ``jti`` is not revoked by now.
    """

    def __init__(
        self,
        jwks: JwksCache,
        issuer: str,
        audience: str,
        algorithms: tuple[str, ...] = ("RS256", "ES256", "EdDSA"),
        leeway_seconds: int = 30,
        *,
        clock: Callable[[], int] | None = None,
        revocations: RevocationList | None = None,
        cache_size: int = 10_000,
    ) -> None:
        """:raises ValueError: an algorithm is not an asymmetric signature algorithm."""
        unsafe = set(algorithms) - ASYMMETRIC_ALGORITHMS
        if unsafe or not algorithms:
            raise ValueError(f"not allowed as token algorithms: {sorted(unsafe) or 'none given'}")
        self._jwks = jwks
        self._revocations = revocations or RevocationList(revocation_url(jwks.url), jwks.http)
        self._issuer = issuer
        self._audience = audience
        self._algorithms = frozenset(algorithms)
        # One registry per algorithm: jwt.decode then accepts exactly the header's algorithm.
        self._registries = {alg: JWSRegistry(algorithms=[alg]) for alg in algorithms}
        now: Callable[[], int] = clock or (lambda: int(time.time()))
        essential: jwt.ClaimsOption = {"essential": True}
        self._claims = jwt.JWTClaimsRegistry(
            now=now,
            leeway=leeway_seconds,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            **dict.fromkeys(REQUIRED_CLAIMS, essential),
        )
        self._cache_size = max(0, cache_size)
        self._verified: OrderedDict[bytes, _Verified] = OrderedDict()

    @property
    def issuer(self) -> str:
        """The only accepted ``iss``."""
        return self._issuer

    @property
    def audience(self) -> str:
        """The audience every accepted token must name."""
        return self._audience

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token.

        :raises NotAuthenticated: the token is not valid, for whatever reason.
        :raises ServiceUnavailable: identity's keys could not be fetched even once.
        """
        try:
            return await self._verify(token)
        except _Rejected as reason:
            logger.debug("access token rejected: %s", reason)
            raise NotAuthenticated(_DETAIL) from None
        except JwksUnavailable:
            raise ServiceUnavailable(
                "Access tokens cannot be verified right now.",
                headers={"Retry-After": str(max(1, round(self._jwks.min_refresh_interval)))},
            ) from None

    async def _verify(self, token: str) -> Principal:
        try:
            digest = hashlib.sha256(token.encode("ascii")).digest()
        except UnicodeEncodeError:
            raise _Rejected("malformed") from None
        remembered = self._verified.get(digest)
        if remembered is not None:
            self._verified.move_to_end(digest)
            try:
                still_valid = await self._still_valid(remembered)
            except _Rejected:
                self._verified.pop(digest, None)
                raise
            if still_valid:
                return remembered.principal
            self._verified.pop(digest, None)  # another key: the full check decides afresh
        verified = await self._verify_fully(token)
        if self._cache_size:
            self._verified[digest] = verified
            if len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        return verified.principal

    async def _still_valid(self, remembered: _Verified) -> bool:
        """False if the key that verified the token is not the one its kid names now (or none);
        :raises _Rejected: the claims no longer validate or the jti is revoked now."""
        if await self._jwks.get_key(remembered.kid) is not remembered.key:
            return False
        try:
            self._claims.validate(remembered.claims)
        except JoseError as exc:
            raise _Rejected(exc.error or type(exc).__name__) from None
        if remembered.jti is not None and await self._revocations.is_revoked(remembered.jti):
            raise _Rejected("revoked")
        return True

    async def _verify_fully(self, token: str) -> _Verified:
        alg, kid = self._read_header(token)
        key = await self._jwks.get_key(kid)
        if key is None:
            raise _Rejected("unknown kid")
        registry = self._registries[alg]
        try:
            registry.algorithms[alg].check_key(key)
        except JoseError as exc:
            raise _Rejected(f"key does not fit alg: {exc.error}") from None
        claims = self._decode(token, key, registry)
        try:
            principal = Principal.from_claims(claims)
        except ValueError:
            raise _Rejected("claims have the wrong shape") from None
        jti = claims.get("jti")
        if jti is not None:
            if not isinstance(jti, str) or not jti or len(jti) > 64:
                raise _Rejected("malformed jti")
            if await self._revocations.is_revoked(jti):
                raise _Rejected("revoked")
        return _Verified(principal, claims, kid, key, jti)

    def _read_header(self, token: str) -> tuple[str, str]:
        try:
            header = jws.extract_compact(token.encode("ascii")).headers()
        except (JoseError, ValueError, TypeError, KeyError, IndexError):
            raise _Rejected("malformed") from None
        alg, kid, typ = header.get("alg"), header.get("kid"), header.get("typ")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise _Rejected("alg not allowed")
        if not isinstance(kid, str) or not kid:
            raise _Rejected("no kid")
        if not isinstance(typ, str) or typ.lower() not in _ACCEPTED_TYP:
            raise _Rejected("unexpected typ")
        if _REJECTED_HEADERS.intersection(header):
            raise _Rejected("unexpected header parameter")
        return alg, kid

    def _decode(self, token: str, key: PublicKey, registry: JWSRegistry) -> dict[str, Any]:
        try:
            claims = jwt.decode(token, key, registry=registry).claims
            self._claims.validate(claims)
        except JoseError as exc:
            raise _Rejected(exc.error or type(exc).__name__) from None
        except (ValueError, TypeError):
            raise _Rejected("malformed payload") from None
        return claims
