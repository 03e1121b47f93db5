"""ORM models of the grant state (migration 0003): authorization codes, refresh tokens (in
families, one per login), revoked access tokens and used client assertions.

Codes and refresh tokens are stored only as their SHA-256 (hex); the plain value exists only
in the response that hands it out.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from identity_service.tenancy.models import Base


class AuthorizationCode(Base):
    """A code handed to the client's redirect URI; single use, short-lived. ``family_id`` is
    set when it is exchanged: the login session the issued tokens belong to."""

    __tablename__ = "authorization_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("oauth_clients.client_id", ondelete="CASCADE"))
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    nonce: Mapped[str | None] = mapped_column(String(255))
    acr: Mapped[str] = mapped_column(String(16))
    auth_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    family_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class RefreshToken(Base):
    """One refresh token of a family. Each is single use: presenting a used one again means it
    was stolen (or replayed), and the whole family is revoked (reuse detection)."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    client_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("oauth_clients.client_id", ondelete="CASCADE"))
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(Text)
    acr: Mapped[str] = mapped_column(String(16))
    auth_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RevokedAccessToken(Base):
    """An access token revoked before its expiry (by ``jti``); kept until it would expire."""

    __tablename__ = "revoked_access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UsedClientAssertion(Base):
    """A ``private_key_jwt`` assertion already used (sha256 of client id and ``jti``)."""

    __tablename__ = "used_client_assertions"

    jti_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("oauth_clients.client_id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
