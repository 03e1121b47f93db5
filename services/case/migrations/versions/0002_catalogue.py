"""The library (services and their definition versions) and the tenants' parameters.

Validity ranges of one (tenant, service) never overlap: an exclusion constraint over
``daterange(valid_from, valid_to)`` refuses it even under concurrent writes (btree_gist).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _created() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                      server_default=sa.func.now()),
            sa.Column("created_by", sa.String(100), nullable=False)]


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "services",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("leika_key", sa.String(64), nullable=False, unique=True),
        sa.Column("slug", sa.String(63), nullable=False, unique=True),
        sa.Column("latest_version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )
    op.create_table(
        "service_definitions",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("service_id", UUID(as_uuid=True), sa.ForeignKey("services.id"),
                  nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("names", JSONB, nullable=False),
        sa.Column("descriptions", JSONB, nullable=False),
        sa.Column("keywords", JSONB, nullable=False, server_default="[]"),
        sa.Column("form_schema", JSONB, nullable=False),
        sa.Column("attachments", JSONB, nullable=False, server_default="[]"),
        sa.Column("trust_level", sa.String(16), nullable=False),
        sa.Column("fee_rule", JSONB, nullable=False),
        sa.Column("process", JSONB),
        sa.Column("processing_days", sa.Integer, nullable=False),
        sa.Column("public_report", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("anonymous", sa.Boolean, nullable=False, server_default=sa.false()),
        *_created(),
        sa.UniqueConstraint("service_id", "version", name="uq_service_definitions_version"),
        sa.CheckConstraint("trust_level IN ('basic', 'substantial', 'high')",
                           name="trust_level_known"),
    )
    op.create_table(
        "service_parameters",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("department", sa.String(63), nullable=False),
        sa.Column("service_id", UUID(as_uuid=True), sa.ForeignKey("services.id"),
                  nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date),
        sa.Column("offered", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("cost_centre", sa.String(32), nullable=False),
        sa.Column("revenue_shares", JSONB, nullable=False, server_default="[]"),
        sa.Column("fee_values", JSONB, nullable=False, server_default="{}"),
        sa.Column("currency", sa.String(3), nullable=False, server_default="EUR"),
        sa.Column("trust_level", sa.String(16)),
        sa.Column("texts", JSONB, nullable=False, server_default="{}"),
        sa.Column("retention_days", sa.Integer, nullable=False),
        *_created(),
        sa.UniqueConstraint("tenant", "service_id", "version",
                            name="uq_service_parameters_version"),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="validity_ordered"),
        sa.CheckConstraint("retention_days > 0", name="retention_positive"),
    )
    op.execute(
        "ALTER TABLE service_parameters ADD CONSTRAINT ex_service_parameters_validity "
        "EXCLUDE USING gist (tenant WITH =, service_id WITH =, "
        "daterange(valid_from, valid_to, '[)') WITH &&)"
    )
    op.create_index("ix_service_parameters_department", "service_parameters",
                    ["tenant", "department"])


def downgrade() -> None:
    op.drop_table("service_parameters")
    op.drop_table("service_definitions")
    op.drop_table("services")
