"""Accounts (citizens, staff, admins), roles, verified attributes; OAuth clients, signing keys,
authorization codes, refresh token families and revoked access tokens.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _ts(name: str, *, nullable: bool = True, default: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.func.now() if default else None)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant", sa.String(63), sa.ForeignKey("tenants.slug"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("password_hash", sa.Text),
        sa.Column("given_name", sa.String(200)),
        sa.Column("family_name", sa.String(200)),
        sa.Column("locale", sa.String(8), nullable=False, server_default="de"),
        sa.Column("admin", sa.String(16)),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
        _ts("locked_until"),
        _ts("email_verified_at"),
        _ts("last_login_at"),
        _ts("created_at", nullable=False, default=True),
        _ts("updated_at", nullable=False, default=True),
        _ts("erased_at"),
        sa.CheckConstraint("kind IN ('citizen', 'staff')", name="kind"),
        sa.CheckConstraint("admin IS NULL OR admin IN ('tenant', 'platform')", name="admin"),
        sa.CheckConstraint("status IN ('active', 'disabled', 'erased')", name="status"),
    )
    op.create_index(
        "uq_accounts_tenant_email", "accounts", ["tenant", "email"], unique=True,
        postgresql_where=sa.text("email IS NOT NULL"),
    )
    op.create_table(
        "account_attributes",
        sa.Column("account_id", UUID(as_uuid=True),
                  sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("loa", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        _ts("verified_at", nullable=False, default=True),
        sa.CheckConstraint("loa IN ('basic', 'substantial', 'high')", name="loa"),
    )
    op.create_table(
        "staff_roles",
        sa.Column("account_id", UUID(as_uuid=True),
                  sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("department", sa.String(63), primary_key=True),
        sa.Column("role", sa.String(32), primary_key=True),
        _ts("granted_at", nullable=False, default=True),
        sa.Column("granted_by", UUID(as_uuid=True)),
        sa.ForeignKeyConstraint(["tenant", "department"],
                                ["departments.tenant", "departments.slug"], ondelete="CASCADE"),
    )
    op.create_table(
        "email_verifications",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("account_id", UUID(as_uuid=True),
                  sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        _ts("expires_at", nullable=False),
        _ts("used_at"),
    )
    op.create_table(
        "oauth_clients",
        sa.Column("client_id", sa.String(100), primary_key=True),
        sa.Column("tenant", sa.String(63), sa.ForeignKey("tenants.slug"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("auth_method", sa.String(32), nullable=False),
        sa.Column("secret_hash", sa.Text),
        _ts("secret_rotated_at"),
        sa.Column("jwks", JSONB),
        sa.Column("redirect_uris", JSONB, nullable=False, server_default="[]"),
        sa.Column("allowed_scopes", JSONB, nullable=False, server_default="[]"),
        sa.Column("grant_types", JSONB, nullable=False, server_default="[]"),
        _ts("created_at", nullable=False, default=True),
        _ts("disabled_at"),
        sa.CheckConstraint("kind IN ('confidential', 'public')", name="kind"),
        sa.CheckConstraint(
            "auth_method IN ('client_secret_basic', 'client_secret_post', 'private_key_jwt',"
            " 'none')", name="auth_method"),
    )
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("alg", sa.String(16), nullable=False),
        sa.Column("private_jwk", sa.Text, nullable=False),
        sa.Column("public_jwk", JSONB, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("created_at", nullable=False, default=True),
        _ts("activated_at"),
        _ts("retired_at"),
        _ts("publish_until"),
        sa.CheckConstraint("status IN ('next', 'active', 'retiring', 'retired')", name="status"),
    )
    op.create_index("uq_signing_keys_one_active", "signing_keys", ["status"], unique=True,
                    postgresql_where=sa.text("status = 'active'"))
    op.create_table(
        "authorization_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(100), sa.ForeignKey("oauth_clients.client_id",
                  ondelete="CASCADE"), nullable=False),
        sa.Column("account_id", UUID(as_uuid=True),
                  sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("redirect_uri", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("code_challenge", sa.String(128)),
        sa.Column("code_challenge_method", sa.String(8)),
        sa.Column("nonce", sa.String(255)),
        sa.Column("acr", sa.String(16), nullable=False),
        _ts("auth_time", nullable=False),
        _ts("expires_at", nullable=False),
        _ts("used_at"),
        sa.Column("family_id", UUID(as_uuid=True)),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("family_id", UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("client_id", sa.String(100), sa.ForeignKey("oauth_clients.client_id",
                  ondelete="CASCADE"), nullable=False),
        sa.Column("account_id", UUID(as_uuid=True),
                  sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("acr", sa.String(16), nullable=False),
        _ts("auth_time", nullable=False),
        _ts("issued_at", nullable=False, default=True),
        _ts("expires_at", nullable=False),
        _ts("used_at"),
        _ts("revoked_at"),
    )
    op.create_table(
        "revoked_access_tokens",
        sa.Column("jti", sa.String(64), primary_key=True),
        _ts("expires_at", nullable=False),
    )
    # private_key_jwt client assertions are single use (RFC 7523 section 3, "jti"): the
    # sha256 of (client_id, jti) is kept until the assertion expires.
    op.create_table(
        "used_client_assertions",
        sa.Column("jti_hash", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(100), sa.ForeignKey("oauth_clients.client_id",
                  ondelete="CASCADE"), nullable=False),
        _ts("expires_at", nullable=False),
    )


def downgrade() -> None:
    for table in ("used_client_assertions", "revoked_access_tokens", "refresh_tokens",
                  "authorization_codes", "signing_keys", "oauth_clients", "email_verifications",
                  "staff_roles", "account_attributes", "accounts"):
        op.drop_table(table)
