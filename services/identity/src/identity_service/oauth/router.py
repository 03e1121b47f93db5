"""``GET /.well-known/openid-configuration``, the revocation list
``GET /.well-known/revoked-tokens.json`` and ``/userinfo`` (GET and POST).

``/userinfo`` takes a Bearer access token, verified by the shared :class:`TokenVerifier`
(reading this issuer's keys in-process) and checked against revocation; errors follow
RFC 6750 section 3 (``WWW-Authenticate: Bearer error=...`` and a JSON body).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from joserfc import jws
from joserfc.errors import JoseError

from city_shared.auth.verifier import TokenVerifier
from city_shared.dependencies import SessionDep
from city_shared.errors import NotAuthenticated
from identity_service.accounts.errors import AccountNotFound
from identity_service.accounts.service import get_account, userinfo
from identity_service.keys.dependencies import Now
from identity_service.oauth import introspection
from identity_service.oauth.discovery import metadata
from identity_service.oauth.errors import NO_STORE, OAuthError, OAuthErrorBody, OAuthRoute
from identity_service.oauth.runtime import Runtime

router = APIRouter(tags=["oauth"], route_class=OAuthRoute)

_WWW_AUTHENTICATE = {"WWW-Authenticate": {"description": "The Bearer challenge (RFC 6750).",
                                          "schema": {"type": "string"}}}
#: RFC 6750 section 3 errors: ``{error, error_description}`` JSON, never problem+json.
_USERINFO_ANSWERS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No Bearer token, or it is invalid, revoked, or its account is gone or "
                         "inactive (`invalid_request`, `invalid_token`).",
          "model": OAuthErrorBody, "headers": _WWW_AUTHENTICATE},
    403: {"description": "The token lacks the scope `openid`, or belongs to a client "
                         "(`insufficient_scope`).",
          "model": OAuthErrorBody, "headers": _WWW_AUTHENTICATE},
}

#: Seconds a verifier may keep the revocation list (its ``RevocationList`` ttl).
REVOCATION_MAX_AGE = 5


@router.get("/.well-known/openid-configuration", summary="OpenID Provider metadata")
async def openid_configuration(runtime: Runtime) -> Response:
    """Endpoints, supported grants, methods, scopes, claims and ``acr`` values."""
    return JSONResponse(metadata(runtime), headers={"Cache-Control": "public, max-age=3600"})


@router.get("/.well-known/revoked-tokens.json",
            summary="Access tokens revoked before their expiry (the revocation list)")
async def revoked_tokens(session: SessionDep, now: Now) -> Response:
    """``{"revoked": [jti, ...], "max_age": 5}``: every service's token verifier reads it every
    few seconds and refuses these tokens (logout, ``/revoke``, password change, a replayed
    refresh token). A jti stays listed until its token would have expired. Only opaque token
    ids, no personal data."""
    revoked = await introspection.revocation_list(session, now)
    return JSONResponse({"revoked": revoked, "max_age": REVOCATION_MAX_AGE},
                        headers={"Cache-Control": f"public, max-age={REVOCATION_MAX_AGE}"})


def _invalid_token(description: str) -> OAuthError:
    return OAuthError("invalid_token", description, status=401,
                      headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def _jti(token: str) -> str | None:
    """The jti of a token the verifier already accepted (so reading it unverified is safe)."""
    try:
        claims = json.loads(jws.extract_compact(token.encode("ascii")).payload)
    except (JoseError, ValueError, TypeError, UnicodeError):
        return None
    jti = claims.get("jti") if isinstance(claims, dict) else None
    return jti if isinstance(jti, str) and len(jti) <= 64 else None


@router.get("/userinfo", summary="OpenID Connect UserInfo", responses=_USERINFO_ANSWERS)
async def userinfo_get(request: Request, session: SessionDep) -> Response:
    """The claims the token's scopes release about its account; needs scope ``openid``."""
    return await _userinfo(request, session)


@router.post("/userinfo", summary="OpenID Connect UserInfo (POST)",
             responses=_USERINFO_ANSWERS)
async def userinfo_post(request: Request, session: SessionDep) -> Response:
    """As ``GET /userinfo`` (OpenID Connect Core section 5.3.1 allows both)."""
    return await _userinfo(request, session)


async def _userinfo(request: Request, session: SessionDep) -> Response:
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise OAuthError("invalid_request", "A Bearer access token is required.", status=401,
                         headers={"WWW-Authenticate": 'Bearer realm="identity"'})
    verifier = request.app.state.token_verifier
    assert isinstance(verifier, TokenVerifier)
    try:
        principal = await verifier.verify(token)
    except NotAuthenticated:
        raise _invalid_token("The access token is not valid.") from None
    jti = _jti(token)
    if jti is None or await introspection.access_token_revoked(session, jti):
        raise _invalid_token("The access token was revoked.")
    if not principal.has_scope("openid") or principal.kind == "client":
        raise OAuthError("insufficient_scope", "The access token lacks the scope 'openid'.",
                         status=403, headers={
                             "WWW-Authenticate": 'Bearer error="insufficient_scope", '
                                                 'scope="openid"'})
    try:
        account = await get_account(session, principal.tenant, uuid.UUID(principal.sub))
    except (AccountNotFound, ValueError):
        raise _invalid_token("The account no longer exists.") from None
    if account.status != "active":
        raise _invalid_token("The account is not active.")
    return JSONResponse(userinfo(account, principal.scopes), headers=NO_STORE)
