"""Queries on ``signing_keys``; nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from identity_service.keys.models import SigningKey

# One arbitrary, fixed advisory-lock id for "someone is changing the signing keys".
_KEYS_LOCK_ID = 0x1D_5167_4B45


async def lock_keys(session: AsyncSession) -> None:
    """Serialise key changes across processes until the transaction ends."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _KEYS_LOCK_ID})


async def active_kid(session: AsyncSession) -> str | None:
    """The kid of the active key, if there is one."""
    return (await session.execute(
        select(SigningKey.kid).where(SigningKey.status == "active")
    )).scalar_one_or_none()


async def active_since(session: AsyncSession) -> datetime | None:
    """When the active key started signing, if there is one."""
    return (await session.execute(
        select(SigningKey.activated_at).where(SigningKey.status == "active")
    )).scalar_one_or_none()


async def by_status(session: AsyncSession, status: str) -> list[SigningKey]:
    """Keys with ``status`` (locked for update: only called under :func:`lock_keys`)."""
    rows = await session.execute(
        select(SigningKey).where(SigningKey.status == status)
        .order_by(SigningKey.created_at).with_for_update()
    )
    return list(rows.scalars())


async def get(session: AsyncSession, kid: str) -> SigningKey | None:
    """The key ``kid``, whatever its status."""
    return await session.get(SigningKey, kid)


async def published(session: AsyncSession, now: datetime) -> Sequence[SigningKey]:
    """Keys a verifier may see: active, next, and retiring ones still within their overlap.
    Ordered active first, then next, then retiring (newest first)."""
    order = case({"active": 0, "next": 1}, value=SigningKey.status, else_=2)
    rows = await session.execute(
        select(SigningKey)
        .where(or_(
            SigningKey.status.in_(("active", "next")),
            (SigningKey.status == "retiring") & (SigningKey.publish_until > now),
        ))
        .order_by(order, SigningKey.created_at.desc())
    )
    return rows.scalars().all()


async def count(session: AsyncSession) -> int:
    """How many key rows exist (any status)."""
    return int((await session.execute(select(func.count()).select_from(SigningKey))).scalar_one())
