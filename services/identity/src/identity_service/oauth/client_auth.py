"""Client authentication at the token, revocation and introspection endpoints (RFC 6749
section 2.3, RFC 7523, OpenID Connect Core section 9).

A request uses exactly one method; the client must use the method it registered. Public
clients (method ``none``) only identify themselves by ``client_id``. Every failure is
``invalid_client`` (401); an unknown client costs the same argon2 work as a wrong secret.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote_plus

from sqlalchemy.ext.asyncio import AsyncSession

from identity_service.clients import repository as clients
from identity_service.clients.client_secrets import verify_secret
from identity_service.clients.models import SECRET_METHODS, OAuthClient
from identity_service.oauth.client_assertion import (
    ASSERTION_TYPE,
    unverified_issuer,
    verify_client_assertion,
)
from identity_service.oauth.errors import invalid_client, invalid_request
from identity_service.oauth.params import Params

__all__ = ["Presented", "authenticate_client", "presented_credentials"]


@dataclass(frozen=True)
class Presented:
    """What the request claims: a client id, the method used and its credential."""

    client_id: str
    method: str
    secret: str | None = None
    assertion: str | None = None


def _basic(header: str) -> tuple[str, str]:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise invalid_client("Only the Basic scheme authenticates clients here.")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise invalid_client("The Basic credentials are malformed.") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id:
        raise invalid_client("The Basic credentials are malformed.")
    # RFC 6749 section 2.3.1: both parts are form-encoded before base64.
    return unquote_plus(client_id), unquote_plus(secret)


def presented_credentials(authorization: str | None, params: Params) -> Presented:
    """The credentials in the request.

    :raises OAuthError: ``invalid_request`` for more than one method or a mismatched
        ``client_id``; ``invalid_client`` for none at all or malformed ones.
    """
    found: list[Presented] = []
    param_id = params.get("client_id")
    if authorization is not None:
        client_id, secret = _basic(authorization)
        found.append(Presented(client_id, "client_secret_basic", secret=secret))
    if "client_secret" in params:
        if param_id is None:
            raise invalid_client("client_secret needs client_id.")
        found.append(Presented(param_id, "client_secret_post", secret=params["client_secret"]))
    if "client_assertion" in params or "client_assertion_type" in params:
        assertion = params.get("client_assertion")
        if params.get("client_assertion_type") != ASSERTION_TYPE or assertion is None:
            raise invalid_client("Unsupported client assertion type.")
        asserted_id = param_id or unverified_issuer(assertion)
        if asserted_id is None:
            raise invalid_client("The client assertion names no client.")
        found.append(Presented(asserted_id, "private_key_jwt", assertion=assertion))
    if len(found) > 1:
        raise invalid_request("Use exactly one client authentication method.")
    if not found:
        if param_id is None:
            raise invalid_client("Client authentication is required.")
        return Presented(param_id, "none")
    presented = found[0]
    if param_id is not None and param_id != presented.client_id:
        raise invalid_request("client_id does not match the client's credentials.")
    return presented


async def authenticate_client(
    session: AsyncSession,
    presented: Presented,
    *,
    audiences: Collection[str],
    now: datetime,
) -> OAuthClient:
    """The enabled client that ``presented`` proves.

    ``audiences`` are the ``aud`` values a client assertion may carry (the issuer and this
    endpoint's URL). A consumed assertion is recorded in ``session`` even if the request fails
    later (see :mod:`.errors`).

    :raises OAuthError: ``invalid_client``.
    """
    client = await clients.get(session, presented.client_id)
    if client is None or not client.is_enabled:
        if presented.secret is not None:
            await verify_secret(None, presented.secret)
        raise invalid_client()
    if presented.method != client.auth_method:
        raise invalid_client(f"This client authenticates with {client.auth_method}.")
    if client.auth_method in SECRET_METHODS:
        if not await verify_secret(client.secret_hash, presented.secret or ""):
            raise invalid_client()
    elif client.auth_method == "private_key_jwt":
        assert presented.assertion is not None
        await verify_client_assertion(session, client, presented.assertion,
                                      audiences=audiences, now=now)
    elif not client.is_public:
        raise invalid_client()
    return client
