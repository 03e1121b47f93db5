"""ORM model of an OAuth client (table ``oauth_clients``, migration 0003) and its rules."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import DateTime, ForeignKey, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from identity_service.tenancy.models import Base

ClientKind = Literal["confidential", "public"]
AuthMethod = Literal["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
SECRET_METHODS = frozenset({"client_secret_basic", "client_secret_post"})
Jwk = dict[str, str | list[str]]


class OAuthClient(Base):
    """A registered client of one tenant. Lists (redirect URIs, scopes, grant types) are JSON
    arrays: assign a new list to change them, never mutate in place."""

    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(63), ForeignKey("tenants.slug"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    auth_method: Mapped[str] = mapped_column(String(32))
    secret_hash: Mapped[str | None] = mapped_column(Text)
    secret_rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    jwks: Mapped[dict[str, list[Jwk]] | None] = mapped_column(JSONB)
    redirect_uris: Mapped[list[str]] = mapped_column(JSONB, default=list)
    allowed_scopes: Mapped[list[str]] = mapped_column(JSONB, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JSONB, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def is_public(self) -> bool:
        """A public client cannot keep a secret (browser, mobile app): PKCE is mandatory."""
        return self.kind == "public"

    @property
    def is_enabled(self) -> bool:
        """False once disabled: it can neither authenticate nor obtain tokens."""
        return self.disabled_at is None

    def allows_grant(self, grant_type: str) -> bool:
        """True if the client was registered for ``grant_type``."""
        return grant_type in self.grant_types

    def allows_scopes(self, scopes: tuple[str, ...]) -> bool:
        """True if every scope in ``scopes`` is allowed for this client."""
        return set(scopes) <= set(self.allowed_scopes)

    def has_redirect_uri(self, uri: str) -> bool:
        """Exact, case-sensitive string comparison: no prefix, wildcard or normalisation."""
        return uri in self.redirect_uris
