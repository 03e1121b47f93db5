"""Client administration use cases for tenant admins (their own tenant) and platform admins
(any tenant). A client of another tenant is reported as not found. Nothing here commits."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.auth.principal import Principal
from city_shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from identity_service.clients import repository
from identity_service.clients.client_secrets import generate_secret, hash_secret
from identity_service.clients.models import SECRET_METHODS, OAuthClient
from identity_service.clients.schemas import ClientCreate, ClientUpdate

__all__ = ["ClientHasNoSecret", "ClientIdTaken", "ClientNotFound", "create_client",
           "disable_client", "get_client", "list_clients", "rotate_secret", "tenant_name",
           "update_client"]


class ClientNotFound(NotFound):
    """404: no such client in a tenant the caller administers."""

    code = "client_not_found"
    title = "Client not found"


class ClientIdTaken(Conflict):
    """409: the chosen ``client_id`` is already registered (in some tenant)."""

    code = "client_id_taken"
    title = "Client id taken"


class ClientHasNoSecret(Conflict):
    """409: the client authenticates without a shared secret (public or private_key_jwt)."""

    code = "client_has_no_secret"
    title = "Client has no secret"


class OtherTenant(Forbidden):
    """403: a tenant admin may register clients in their own tenant only."""

    code = "other_tenant"
    title = "Other tenant"


def _visible(actor: Principal, client: OAuthClient) -> bool:
    return actor.is_admin("platform") or client.tenant == actor.tenant


async def get_client(session: AsyncSession, actor: Principal, client_id: str) -> OAuthClient:
    """The client, if ``actor`` administers its tenant. :raises ClientNotFound: otherwise."""
    client = await repository.get(session, client_id)
    if client is None or not _visible(actor, client):
        raise ClientNotFound("No client with this id in your tenant.")
    return client


async def list_clients(session: AsyncSession, actor: Principal) -> Sequence[OAuthClient]:
    """The clients of the actor's tenant (of every tenant for a platform admin)."""
    return await repository.list_for(session, None if actor.is_admin("platform") else actor.tenant)


async def create_client(
    session: AsyncSession, actor: Principal, data: ClientCreate, now: datetime
) -> tuple[OAuthClient, str | None]:
    """Register a client; returns it and its secret (None unless it uses a secret method).

    :raises OtherTenant: a tenant admin names another tenant.
    :raises ValidationFailed: the tenant does not exist.
    :raises ClientIdTaken: ``client_id`` is in use.
    """
    tenant = data.tenant or actor.tenant
    if tenant != actor.tenant and not actor.is_admin("platform"):
        raise OtherTenant("Tenant administrators register clients in their own tenant only.")
    if not await repository.tenant_exists(session, tenant):
        raise ValidationFailed("The tenant does not exist.")
    client_id = data.client_id or f"{tenant}-{secrets.token_hex(6)}"
    if await repository.get(session, client_id) is not None:
        raise ClientIdTaken("This client id is already registered.")
    secret = generate_secret() if data.auth_method in SECRET_METHODS else None
    client = OAuthClient(
        client_id=client_id,
        tenant=tenant,
        name=data.name,
        kind=data.kind,
        auth_method=data.auth_method,
        secret_hash=await hash_secret(secret) if secret else None,
        secret_rotated_at=now if secret else None,
        jwks=data.jwks.model_dump() if data.jwks else None,
        redirect_uris=list(data.redirect_uris),
        allowed_scopes=list(data.allowed_scopes),
        grant_types=list(data.grant_types),
        created_at=now,
    )
    session.add(client)
    try:
        await session.flush()  # a concurrent registration of the same id is decided here
    except IntegrityError as exc:
        if "pk_oauth_clients" in str(exc.orig):
            raise ClientIdTaken("This client id is already registered.") from None
        raise
    return client, secret


async def rotate_secret(
    session: AsyncSession, actor: Principal, client_id: str, now: datetime
) -> tuple[OAuthClient, str]:
    """Replace the client's secret; the old one stops working when the transaction commits.

    :raises ClientNotFound: see :func:`get_client`.
    :raises ClientHasNoSecret: the client does not authenticate with a secret.
    """
    client = await get_client(session, actor, client_id)
    if client.auth_method not in SECRET_METHODS:
        raise ClientHasNoSecret("This client does not authenticate with a secret.")
    secret = generate_secret()
    client.secret_hash = await hash_secret(secret)
    client.secret_rotated_at = now
    await session.flush()
    return client, secret


async def update_client(
    session: AsyncSession, actor: Principal, client_id: str, data: ClientUpdate
) -> OAuthClient:
    """Change name, redirect URIs, allowed scopes or (``private_key_jwt``) the JWKS.

    :raises ValidationFailed: the change breaks a rule of the client's kind.
    """
    client = await get_client(session, actor, client_id)
    if data.name is not None:
        client.name = data.name
    if data.redirect_uris is not None:
        if client.allows_grant("authorization_code") != bool(data.redirect_uris):
            raise ValidationFailed(
                "redirect_uris are required for authorization_code clients and only for them."
            )
        if len(set(data.redirect_uris)) != len(data.redirect_uris):
            raise ValidationFailed("redirect_uris must not repeat.")
        client.redirect_uris = list(data.redirect_uris)
    if data.allowed_scopes is not None:
        client.allowed_scopes = list(dict.fromkeys(data.allowed_scopes))
    if data.jwks is not None:
        if client.auth_method != "private_key_jwt":
            raise ValidationFailed("jwks is only for private_key_jwt clients.")
        client.jwks = data.jwks.model_dump()
    await session.flush()
    return client


async def disable_client(
    session: AsyncSession, actor: Principal, client_id: str, now: datetime
) -> OAuthClient:
    """Disable the client (idempotent): it can no longer authenticate, so neither new tokens
    nor refreshes; access tokens already issued expire on their own (minutes)."""
    client = await get_client(session, actor, client_id)
    if client.disabled_at is None:
        client.disabled_at = now
        await session.flush()
    return client


async def tenant_name(session: AsyncSession, tenant: str) -> str:
    """The display name of ``tenant`` (its slug if it has none), for the login page."""
    return await repository.tenant_name(session, tenant)
