"""Token revocation (RFC 7009) and introspection (RFC 7662). Flushes, never commits.

Both accept this issuer's access tokens (JWTs, by ``jti``) and refresh tokens (by hash).
A client may revoke only tokens issued to it, and introspect access tokens of its own tenant
and refresh tokens issued to it; anything else is treated as unknown (revocation: no effect,
still 200; introspection: ``{"active": false}``), so neither tells a client about tokens that
are not its business.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from city_shared import outbox
from identity_service.accounts import events
from identity_service.clients.models import OAuthClient
from identity_service.keys.service import KeyRing
from identity_service.oauth import repository
from identity_service.oauth.grants import GrantPolicy, revoke_family
from identity_service.oauth.tokens import grant_hash
from identity_service.topics import ACCOUNTS

__all__ = ["access_token_revoked", "introspect", "revocation_list", "revoke"]

_LEEWAY_SECONDS = 30
_REPORTED = ("scope", "client_id", "sub", "exp", "iat", "iss", "aud", "jti", "tenant", "kind",
             "acr", "roles", "admin", "auth_time")


async def _access_claims(
    session: AsyncSession, keyring: KeyRing, token: str, *, issuer: str, audience: str,
    now: datetime,
) -> dict[str, Any] | None:
    """The claims of a valid (signed by us, unexpired, unrevoked) access token, else None."""
    verified = await keyring.verify(session, token, now=now)
    if verified is None:
        return None
    header, claims = verified
    exp, jti, aud = claims.get("exp"), claims.get("jti"), claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if (
        str(header.get("typ", "")).lower() != "at+jwt"
        or claims.get("iss") != issuer
        or audience not in audiences
        or not isinstance(exp, int | float) or isinstance(exp, bool)
        or exp <= now.timestamp()
        or not isinstance(jti, str) or len(jti) > 64
        or not isinstance(claims.get("iat"), int | float)
        or claims["iat"] > now.timestamp() + _LEEWAY_SECONDS
    ):
        return None
    if await repository.is_revoked(session, jti):
        return None
    return claims


async def revoke(
    session: AsyncSession,
    client: OAuthClient,
    token: str,
    *,
    keyring: KeyRing,
    issuer: str,
    audience: str,
    now: datetime,
    policy: GrantPolicy,
) -> None:
    """Revoke ``token`` if it is one of ``client``'s: a refresh token revokes its whole
    family (and the family's live access tokens); an access token is revoked by jti. A
    person's tokens are announced with ``account.tokens_revoked``; every service refuses the
    revoked access tokens once it has read the revocation list again (seconds)."""
    row = await repository.refresh_for_update(session, grant_hash(token))
    if row is not None:
        if row.client_id == client.client_id:
            await revoke_family(session, row.family_id, now, policy, account_id=row.account_id,
                                tenant=client.tenant, reason="revoked")
        return
    claims = await _access_claims(session, keyring, token, issuer=issuer, audience=audience,
                                  now=now)
    if claims is not None and claims.get("client_id") == client.client_id:
        expires_at = datetime.fromtimestamp(float(claims["exp"]), UTC)
        await repository.revoke_access_tokens(session, [(claims["jti"], expires_at)])
        if claims.get("kind") != "client":
            await outbox.add(session, ACCOUNTS, events.tokens_revoked(
                uuid.UUID(str(claims["sub"])), str(claims["tenant"]), reason="revoked",
                revoked="token", not_before=now))


async def introspect(
    session: AsyncSession,
    client: OAuthClient,
    token: str,
    *,
    keyring: KeyRing,
    issuer: str,
    audience: str,
    now: datetime,
) -> dict[str, Any]:
    """The RFC 7662 response for ``token`` as ``client`` may see it."""
    claims = await _access_claims(session, keyring, token, issuer=issuer, audience=audience,
                                  now=now)
    if claims is not None:
        if claims.get("tenant") != client.tenant:
            return {"active": False}
        reported = {k: claims[k] for k in _REPORTED if k in claims}
        return {"active": True, "token_type": "Bearer", **reported}
    row = await repository.refresh_token(session, grant_hash(token))
    if (
        row is None
        or row.client_id != client.client_id
        or row.used_at is not None
        or row.revoked_at is not None
        or row.expires_at <= now
    ):
        return {"active": False}
    return {
        "active": True,
        "token_type": "refresh_token",
        "scope": row.scope,
        "client_id": row.client_id,
        "sub": str(row.account_id),
        "tenant": client.tenant,
        "iss": issuer,
        "exp": int(row.expires_at.timestamp()),
        "iat": int(row.issued_at.timestamp()),
        "acr": row.acr,
        "auth_time": int(row.auth_time.timestamp()),
    }


async def access_token_revoked(session: AsyncSession, jti: str) -> bool:
    """True if the access token ``jti`` was revoked (``/userinfo`` refuses it)."""
    return await repository.is_revoked(session, jti)


async def revocation_list(session: AsyncSession, now: datetime) -> list[str]:
    """The jtis of revoked access tokens that have not expired yet (the revocation list)."""
    return await repository.live_revocations(session, now)
