"""``POST /token``, ``POST /revoke`` (RFC 7009) and ``POST /introspect`` (RFC 7662).

Parse -> authenticate the client -> one service call -> JSON. The request's unit of work
commits, also on an OAuth error (returned by :class:`~.errors.OAuthRoute`, see :mod:`.errors`).
Errors are RFC 6749 section 5.2 JSON, never problem+json.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from city_shared.dependencies import SessionDep
from identity_service.clients.models import OAuthClient
from identity_service.keys.dependencies import Now
from identity_service.oauth import grants, introspection
from identity_service.oauth.client_auth import authenticate_client, presented_credentials
from identity_service.oauth.errors import (
    NO_STORE,
    OAuthRoute,
    invalid_client,
    invalid_request,
)
from identity_service.oauth.params import Params, form_params
from identity_service.oauth.runtime import OAuthRuntime, Runtime

router = APIRouter(tags=["oauth"], route_class=OAuthRoute)

_OAUTH_ERROR = {"description": "OAuth error (RFC 6749 section 5.2): {error, error_description}"}


async def _client(
    request: Request, session: SessionDep, params: Params, runtime: OAuthRuntime, path: str,
    now: Now,
) -> OAuthClient:
    presented = presented_credentials(request.headers.get("authorization"), params)
    return await authenticate_client(
        session, presented, audiences={runtime.issuer, runtime.url("/token"), runtime.url(path)},
        now=now,
    )


@router.post("/token", summary="Token endpoint", responses={400: _OAUTH_ERROR, 401: _OAUTH_ERROR})
async def token(request: Request, session: SessionDep, runtime: Runtime, now: Now) -> Response:
    """Grants ``authorization_code`` (PKCE), ``refresh_token`` (rotating, reuse revokes the
    family) and ``client_credentials``. Form-encoded; client authentication as registered."""
    if "idempotency-key" in request.headers:
        raise invalid_request("Token responses are never stored: send no Idempotency-Key.")
    params = await form_params(request)
    client = await _client(request, session, params, runtime, "/token", now)
    issued = await grants.exchange(session, client, params, now=now, policy=runtime.policy)
    return JSONResponse(issued.body(), headers=NO_STORE)


@router.post("/revoke", summary="Token revocation (RFC 7009)",
             responses={400: _OAUTH_ERROR, 401: _OAUTH_ERROR})
async def revoke(request: Request, session: SessionDep, runtime: Runtime, now: Now) -> Response:
    """Revoke a refresh token (and its whole login session) or an access token. Always 200
    for a token that is unknown or not the client's."""
    params = await form_params(request)
    client = await _client(request, session, params, runtime, "/revoke", now)
    if "token" not in params:
        raise invalid_request("token is required.")
    await introspection.revoke(session, client, params["token"], keyring=runtime.keyring,
                               issuer=runtime.issuer, audience=runtime.audience, now=now,
                               policy=runtime.policy)
    return Response(status_code=200, headers=NO_STORE)


@router.post("/introspect", summary="Token introspection (RFC 7662)",
             responses={400: _OAUTH_ERROR, 401: _OAUTH_ERROR})
async def introspect(
    request: Request, session: SessionDep, runtime: Runtime, now: Now
) -> Response:
    """``{"active": true, ...claims}`` for a valid token the client may see, else
    ``{"active": false}``. Confidential clients only."""
    params = await form_params(request)
    client = await _client(request, session, params, runtime, "/introspect", now)
    if client.is_public:
        raise invalid_client("Public clients cannot introspect tokens.")
    if "token" not in params:
        raise invalid_request("token is required.")
    result = await introspection.introspect(
        session, client, params["token"], keyring=runtime.keyring, issuer=runtime.issuer,
        audience=runtime.audience, now=now,
    )
    return JSONResponse(result, headers=NO_STORE)
