"""Queries on ``oauth_clients``; nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from identity_service.clients.models import OAuthClient
from identity_service.tenancy.models import Tenant


async def get(
    session: AsyncSession, client_id: str, *, for_update: bool = False
) -> OAuthClient | None:
    """The client ``client_id`` (enabled or not), or None."""
    if len(client_id) > 100 or "\x00" in client_id:
        return None
    stmt = select(OAuthClient).where(OAuthClient.client_id == client_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_for(session: AsyncSession, tenant: str | None) -> Sequence[OAuthClient]:
    """Clients of ``tenant`` (all tenants for None), ordered by id."""
    stmt = select(OAuthClient).order_by(OAuthClient.tenant, OAuthClient.client_id)
    if tenant is not None:
        stmt = stmt.where(OAuthClient.tenant == tenant)
    return (await session.execute(stmt)).scalars().all()


async def tenant_exists(session: AsyncSession, tenant: str) -> bool:
    """True if the tenant ``tenant`` exists."""
    return await session.get(Tenant, tenant) is not None


async def tenant_name(session: AsyncSession, tenant: str) -> str:
    """The display name of ``tenant`` (its slug if it has none)."""
    row = await session.get(Tenant, tenant)
    return row.name if row is not None else tenant
