"""``private_key_jwt`` (RFC 7523 section 2.2, OpenID Connect Core section 9): a client proves
its identity with a JWT signed by a key from its registered JWKS.

Checked: ``alg`` in an asymmetric allow-list, no embedded or remote keys in the header, the
signature against the client's keys (by ``kid``), ``iss`` = ``sub`` = client id, ``aud`` names
this issuer or the endpoint, ``exp`` in the future but at most an hour away (Authlib's
default lifetime), ``nbf``/``iat`` not in the future, and a ``jti`` never seen before for this
client (kept until the assertion expires).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, Key, OKPKey, RSAKey
from joserfc.jws import JWSRegistry
from sqlalchemy.ext.asyncio import AsyncSession

from identity_service.clients.models import OAuthClient
from identity_service.oauth import repository
from identity_service.oauth.errors import invalid_client

__all__ = ["ASSERTION_TYPE", "unverified_issuer", "verify_client_assertion"]

ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS: Final = ("RS256", "PS256", "ES256", "EdDSA")
MAX_LIFETIME: Final = timedelta(hours=1)
LEEWAY_SECONDS: Final = 30
_FORBIDDEN_HEADERS: Final = frozenset({"jku", "x5u", "jwk", "x5c", "crit"})


def _header(assertion: str) -> dict[str, Any]:
    try:
        return dict(jws.extract_compact(assertion.encode("ascii")).headers())
    except (JoseError, ValueError, TypeError, KeyError, IndexError, UnicodeError):
        raise invalid_client("The client assertion is malformed.") from None


def unverified_issuer(assertion: str) -> str | None:
    """The ``iss`` of an assertion before verification, to find the client when the request
    has no ``client_id``; None if unreadable. Never trusted beyond that lookup."""
    try:
        payload = jws.extract_compact(assertion.encode("ascii")).payload
        claims = json.loads(payload)
    except (JoseError, ValueError, TypeError, KeyError, IndexError, UnicodeError):
        return None
    iss = claims.get("iss") if isinstance(claims, dict) else None
    return iss if isinstance(iss, str) and 0 < len(iss) <= 100 else None


def _candidate_keys(client: OAuthClient, header: dict[str, Any]) -> list[Key]:
    keys: list[Key] = []
    for entry in (client.jwks or {}).get("keys", []):
        try:
            key = JWKRegistry.import_key(dict(entry))
        except (JoseError, ValueError, TypeError):
            continue
        if not isinstance(key, RSAKey | ECKey | OKPKey) or key.is_private:
            continue
        if header.get("kid") is None or entry.get("kid") == header["kid"]:
            keys.append(key)
    return keys


def _verify_signature(assertion: str, client: OAuthClient) -> dict[str, Any]:
    header = _header(assertion)
    alg = header.get("alg")
    if alg not in ALGORITHMS or _FORBIDDEN_HEADERS.intersection(header):
        raise invalid_client("The client assertion's header is not acceptable.")
    registry = JWSRegistry(algorithms=[alg])
    for key in _candidate_keys(client, header):
        try:
            return dict(jwt.decode(assertion, key, registry=registry).claims)
        except (JoseError, ValueError, TypeError):
            continue
    raise invalid_client("The client assertion's signature does not verify.")


def _check_claims(
    claims: dict[str, Any], client_id: str, audiences: Collection[str], now: datetime
) -> tuple[str, datetime]:
    registry = jwt.JWTClaimsRegistry(
        now=int(now.timestamp()),
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": client_id},
        sub={"essential": True, "value": client_id},
        aud={"essential": True, "values": list(audiences)},
        exp={"essential": True},
        jti={"essential": True},
    )
    try:
        registry.validate(claims)
    except JoseError:
        raise invalid_client("The client assertion's claims are not acceptable.") from None
    lifetime = float(claims["exp"]) - now.timestamp()
    if lifetime > (MAX_LIFETIME + timedelta(seconds=LEEWAY_SECONDS)).total_seconds():
        raise invalid_client("The client assertion must expire within an hour.")
    expires_at = datetime.fromtimestamp(float(claims["exp"]), UTC)
    jti = claims["jti"]
    if len(jti) > 255:
        raise invalid_client("The client assertion's jti is too long.")
    return jti, expires_at


async def verify_client_assertion(
    session: AsyncSession,
    client: OAuthClient,
    assertion: str,
    *,
    audiences: Collection[str],
    now: datetime,
) -> None:
    """Accept ``assertion`` as proof of ``client`` once; records its ``jti``.

    :raises OAuthError: ``invalid_client`` for any failed check, including a replay.
    """
    claims = _verify_signature(assertion, client)
    jti, expires_at = _check_claims(claims, client.client_id, audiences, now)
    jti_hash = hashlib.sha256(f"{client.client_id}\x00{jti}".encode()).hexdigest()
    if not await repository.use_client_assertion(session, jti_hash, client.client_id, expires_at):
        raise invalid_client("The client assertion was already used.")
