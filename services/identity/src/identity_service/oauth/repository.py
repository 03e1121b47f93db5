"""Queries on the grant state (codes, refresh tokens, revoked access tokens, used client
assertions); nothing here commits. Rows that decide single use are read ``FOR UPDATE``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from identity_service.oauth.models import (
    AuthorizationCode,
    RefreshToken,
    RevokedAccessToken,
    UsedClientAssertion,
)


async def code_for_update(session: AsyncSession, code_hash: str) -> AuthorizationCode | None:
    """The code row, locked: concurrent exchanges of one code run one after the other."""
    stmt = select(AuthorizationCode).where(AuthorizationCode.code_hash == code_hash)
    return (await session.execute(stmt.with_for_update())).scalar_one_or_none()


async def refresh_for_update(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    """The refresh token row, locked (concurrent refreshes serialise; the second is a reuse)."""
    stmt = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    return (await session.execute(stmt.with_for_update())).scalar_one_or_none()


async def refresh_token(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    """The refresh token row, unlocked (introspection)."""
    return await session.get(RefreshToken, token_hash)


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, now: datetime) -> None:
    """Mark every refresh token of the family revoked."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def grants_used_since(
    session: AsyncSession, family_id: uuid.UUID, since: datetime
) -> Sequence[tuple[str, datetime]]:
    """``(hash, used_at)`` of the family's code and refresh tokens exchanged after ``since``:
    the grants whose access tokens may still be alive."""
    codes = await session.execute(
        select(AuthorizationCode.code_hash, AuthorizationCode.used_at).where(
            AuthorizationCode.family_id == family_id, AuthorizationCode.used_at > since)
    )
    tokens = await session.execute(
        select(RefreshToken.token_hash, RefreshToken.used_at).where(
            RefreshToken.family_id == family_id, RefreshToken.used_at > since)
    )
    return [(h, at) for h, at in [*codes.tuples(), *tokens.tuples()] if at is not None]


async def revoke_access_tokens(
    session: AsyncSession, tokens: Iterable[tuple[str, datetime]]
) -> None:
    """Record ``(jti, expires_at)`` pairs as revoked (idempotent)."""
    rows = [{"jti": jti, "expires_at": expires_at} for jti, expires_at in tokens]
    if rows:
        await session.execute(insert(RevokedAccessToken).values(rows).on_conflict_do_nothing())


async def is_revoked(session: AsyncSession, jti: str) -> bool:
    """True if the access token ``jti`` was revoked."""
    return await session.get(RevokedAccessToken, jti) is not None


async def live_revocations(session: AsyncSession, now: datetime) -> list[str]:
    """The jtis of revoked access tokens that have not expired yet (the revocation list)."""
    stmt = select(RevokedAccessToken.jti).where(RevokedAccessToken.expires_at > now)
    return list((await session.execute(stmt.order_by(RevokedAccessToken.jti))).scalars())


async def use_client_assertion(
    session: AsyncSession, jti_hash: str, client_id: str, expires_at: datetime
) -> bool:
    """Record an assertion as used; False if it was used before (a replay)."""
    stmt = (
        insert(UsedClientAssertion)
        .values(jti_hash=jti_hash, client_id=client_id, expires_at=expires_at)
        .on_conflict_do_nothing()
        .returning(UsedClientAssertion.jti_hash)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None
