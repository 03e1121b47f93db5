"""The grants of the token endpoint and the code issued by ``/authorize``. Flushes, never
commits; what happened before an :class:`OAuthError` raised here is committed with the
request (:class:`~.errors.OAuthRoute` returns the error, so reuse detection persists although
the request fails).

- Authorization code: single use, ``authorization_code_ttl_seconds`` (60 s), bound to client,
  redirect URI and PKCE challenge. Presenting a used code revokes what was issued for it
  (RFC 6749 section 4.1.2).
- Refresh token: rotated on every use within its family (one family per login). Presenting a
  used refresh token revokes the whole family (reuse detection, OAuth 2.0 Security BCP 4.14).
- Client credentials: confidential clients only; ``sub`` is the client id, ``kind`` is
  ``client``, the tenant is the client's, ``acr`` is ``basic`` (no person is involved).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from city_shared import outbox
from identity_service.accounts import events
from identity_service.accounts.errors import AccountNotFound
from identity_service.accounts.events import RevocationReason
from identity_service.accounts.models import Account
from identity_service.accounts.service import get_account, token_claims, userinfo
from identity_service.clients.models import OAuthClient
from identity_service.clients.scopes import OIDC_SCOPES, format_scope, parse_scope
from identity_service.oauth import pkce, repository
from identity_service.oauth.authorization_request import AuthorizationRequest
from identity_service.oauth.errors import OAuthError, invalid_grant, invalid_request
from identity_service.oauth.models import AuthorizationCode, RefreshToken
from identity_service.oauth.params import Params
from identity_service.oauth.tokens import (
    Minter,
    Subject,
    TokenResponse,
    derived_jti,
    grant_hash,
    new_grant_value,
)
from identity_service.topics import ACCOUNTS

__all__ = ["GrantPolicy", "exchange", "issue_code", "revoke_family"]

_CLOCK_LEEWAY = timedelta(seconds=60)


@dataclass(frozen=True)
class GrantPolicy:
    """Lifetimes and the minter the grants use."""

    minter: Minter
    code_ttl: timedelta
    refresh_ttl: timedelta


async def issue_code(
    session: AsyncSession,
    request: AuthorizationRequest,
    *,
    account_id: uuid.UUID,
    acr: str,
    now: datetime,
    policy: GrantPolicy,
) -> str:
    """A new authorization code for a successful login (only its hash is stored)."""
    code = new_grant_value()
    session.add(AuthorizationCode(
        code_hash=grant_hash(code),
        client_id=request.client.client_id,
        account_id=account_id,
        redirect_uri=request.redirect_uri,
        scope=format_scope(request.scopes),
        code_challenge=request.code_challenge,
        code_challenge_method="S256" if request.code_challenge else None,
        nonce=request.nonce,
        acr=acr,
        auth_time=now,
        expires_at=now + policy.code_ttl,
    ))
    await session.flush()
    return code


async def revoke_family(
    session: AsyncSession,
    family_id: uuid.UUID,
    now: datetime,
    policy: GrantPolicy,
    *,
    account_id: uuid.UUID,
    tenant: str,
    reason: RevocationReason,
) -> None:
    """Revoke every refresh token of a login and the access tokens issued for it that may
    still be alive (their jtis are derived from the grants exchanged for them, and go on the
    revocation list every service reads); publishes ``account.tokens_revoked``."""
    await repository.revoke_family(session, family_id, now)
    ttl = policy.minter.access_ttl
    grants = await repository.grants_used_since(session, family_id, now - ttl - _CLOCK_LEEWAY)
    await repository.revoke_access_tokens(
        session, [(derived_jti(hashed), used_at + ttl) for hashed, used_at in grants]
    )
    await outbox.add(session, ACCOUNTS, events.tokens_revoked(
        account_id, tenant, reason=reason, revoked="session", session_id=family_id,
        not_before=now))


async def exchange(
    session: AsyncSession, client: OAuthClient, params: Params, *, now: datetime,
    policy: GrantPolicy,
) -> TokenResponse:
    """Run the grant named by ``grant_type`` for the authenticated ``client``."""
    grant_type = params.get("grant_type")
    if grant_type is None:
        raise invalid_request("grant_type is required.")
    if grant_type not in ("authorization_code", "refresh_token", "client_credentials"):
        raise OAuthError("unsupported_grant_type", "This grant type is not supported.")
    if not client.allows_grant(grant_type):
        raise OAuthError("unauthorized_client", "This client may not use this grant type.")
    if grant_type == "authorization_code":
        return await _code(session, client, params, now, policy)
    if grant_type == "refresh_token":
        return await _refresh(session, client, params, now, policy)
    return await _client_credentials(session, client, params, now, policy)


async def _active_account(session: AsyncSession, tenant: str, account_id: uuid.UUID) -> Account:
    try:
        account = await get_account(session, tenant, account_id)
    except AccountNotFound:
        raise invalid_grant("The account no longer exists.") from None
    if account.status != "active":
        raise invalid_grant("The account is not active.")
    return account


async def _code(
    session: AsyncSession, client: OAuthClient, params: Params, now: datetime, policy: GrantPolicy
) -> TokenResponse:
    code, redirect_uri = params.get("code"), params.get("redirect_uri")
    if code is None or redirect_uri is None:
        raise invalid_request("code and redirect_uri are required.")
    hashed = grant_hash(code)
    row = await repository.code_for_update(session, hashed)
    if row is None or row.client_id != client.client_id:
        raise invalid_grant("The authorization code is invalid.")
    if row.used_at is not None:
        if row.family_id is not None:
            await revoke_family(session, row.family_id, now, policy, account_id=row.account_id,
                                tenant=client.tenant, reason="code_reuse")
        raise invalid_grant("The authorization code was already used; the tokens issued for "
                            "it are revoked.")
    if row.expires_at <= now:
        raise invalid_grant("The authorization code has expired.")
    if row.redirect_uri != redirect_uri:
        raise invalid_grant("redirect_uri does not match the authorization request.")
    verifier = params.get("code_verifier")
    if row.code_challenge is not None:
        if verifier is None or not pkce.verify(verifier, row.code_challenge):
            raise invalid_grant("The code_verifier does not match the code_challenge.")
    elif verifier is not None:
        raise invalid_grant("No code_challenge was sent with the authorization request.")
    account = await _active_account(session, client.tenant, row.account_id)
    row.used_at = now
    row.family_id = uuid.uuid4()
    await session.flush()
    return await _for_account(session, client, account, scope=row.scope, acr=row.acr,
                              auth_time=row.auth_time, nonce=row.nonce, family_id=row.family_id,
                              presented_hash=hashed, now=now, policy=policy)


async def _refresh(
    session: AsyncSession, client: OAuthClient, params: Params, now: datetime, policy: GrantPolicy
) -> TokenResponse:
    token = params.get("refresh_token")
    if token is None:
        raise invalid_request("refresh_token is required.")
    hashed = grant_hash(token)
    row = await repository.refresh_for_update(session, hashed)
    if row is None or row.client_id != client.client_id:
        raise invalid_grant("The refresh token is invalid.")
    if row.revoked_at is not None:
        raise invalid_grant("The refresh token was revoked.")
    if row.used_at is not None:
        await revoke_family(session, row.family_id, now, policy, account_id=row.account_id,
                            tenant=client.tenant, reason="refresh_token_reuse")
        raise invalid_grant("The refresh token was already used; the whole login session is "
                            "revoked.")
    if row.expires_at <= now:
        raise invalid_grant("The refresh token has expired.")
    granted = parse_scope(row.scope)
    scope = row.scope
    if "scope" in params:
        requested = parse_scope(params["scope"])
        if not set(requested) <= set(granted):
            raise OAuthError("invalid_scope", "A refresh cannot widen the granted scope.")
        scope = format_scope(requested)
    scope = format_scope(tuple(s for s in parse_scope(scope) if s in client.allowed_scopes))
    account = await _active_account(session, client.tenant, row.account_id)
    row.used_at = now
    await session.flush()
    return await _for_account(session, client, account, scope=scope, acr=row.acr,
                              auth_time=row.auth_time, nonce=None, family_id=row.family_id,
                              presented_hash=hashed, now=now, policy=policy,
                              refresh_scope=row.scope)


async def _for_account(
    session: AsyncSession,
    client: OAuthClient,
    account: Account,
    *,
    scope: str,
    acr: str,
    auth_time: datetime,
    nonce: str | None,
    family_id: uuid.UUID,
    presented_hash: str,
    now: datetime,
    policy: GrantPolicy,
    refresh_scope: str | None = None,
) -> TokenResponse:
    claims = token_claims(account)
    subject = Subject(claims.sub, claims.tenant, claims.kind, claims.roles, claims.admin)
    minter = policy.minter
    scopes = parse_scope(scope)
    access = await minter.access_token(session, subject, client_id=client.client_id,
                                       scope=scope, acr=acr, jti=derived_jti(presented_hash),
                                       now=now, auth_time=auth_time)
    id_token = None
    if "openid" in scopes:
        profile = {k: v for k, v in userinfo(account, scopes).items() if k != "sub"}
        id_token = await minter.id_token(session, sub=claims.sub, tenant=claims.tenant,
                                         client_id=client.client_id, acr=acr,
                                         auth_time=auth_time, nonce=nonce, profile=profile,
                                         now=now)
    refresh = None
    if client.allows_grant("refresh_token"):
        refresh = new_grant_value()
        session.add(RefreshToken(
            token_hash=grant_hash(refresh), family_id=family_id, client_id=client.client_id,
            account_id=account.id, scope=refresh_scope or scope, acr=acr, auth_time=auth_time,
            issued_at=now, expires_at=now + policy.refresh_ttl,
        ))
        await session.flush()
    return TokenResponse(access_token=access, expires_in=int(minter.access_ttl.total_seconds()),
                         scope=scope, refresh_token=refresh, id_token=id_token)


async def _client_credentials(
    session: AsyncSession, client: OAuthClient, params: Params, now: datetime, policy: GrantPolicy
) -> TokenResponse:
    if client.is_public:
        raise OAuthError("unauthorized_client", "Public clients cannot use client_credentials.")
    if "scope" in params:
        scopes = parse_scope(params["scope"])
    else:
        scopes = tuple(s for s in client.allowed_scopes if s not in OIDC_SCOPES)
    if any(s in OIDC_SCOPES for s in scopes) or not client.allows_scopes(scopes):
        raise OAuthError("invalid_scope", "The requested scope is not allowed for this client.")
    subject = Subject(sub=client.client_id, tenant=client.tenant, kind="client", roles={},
                      admin=None)
    scope = format_scope(scopes)
    access = await policy.minter.access_token(session, subject, client_id=client.client_id,
                                              scope=scope, acr="basic",
                                              jti=secrets.token_hex(16), now=now)
    return TokenResponse(access_token=access,
                         expires_in=int(policy.minter.access_ttl.total_seconds()), scope=scope)
