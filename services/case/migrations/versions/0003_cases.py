"""Drafts, attachments (metadata and database-stored content), cases, their yearly number
counters and their history.

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


def _ts(name: str, *, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=None if nullable else sa.func.now())


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("service_id", UUID(as_uuid=True), sa.ForeignKey("services.id"),
                  nullable=False),
        sa.Column("definition_id", UUID(as_uuid=True), sa.ForeignKey("service_definitions.id"),
                  nullable=False),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("account_id", UUID(as_uuid=True)),
        sa.Column("data", JSONB, nullable=False, server_default="{}"),
        sa.Column("verified", JSONB, nullable=False, server_default="{}"),
        sa.Column("locale", sa.String(5), nullable=False, server_default="de"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("submitted_case_id", UUID(as_uuid=True)),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_drafts_owner", "drafts", ["tenant", "owner"])
    op.create_index("ix_drafts_account", "drafts", ["account_id"])
    op.create_index("ix_drafts_expires_at", "drafts", ["expires_at"])
    op.create_table(
        "cases",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("department", sa.String(63), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("service_id", UUID(as_uuid=True), sa.ForeignKey("services.id"),
                  nullable=False),
        sa.Column("definition_id", UUID(as_uuid=True), sa.ForeignKey("service_definitions.id"),
                  nullable=False),
        sa.Column("definition_version", sa.Integer, nullable=False),
        sa.Column("parameters_id", UUID(as_uuid=True), sa.ForeignKey("service_parameters.id"),
                  nullable=False),
        sa.Column("parameters_version", sa.Integer, nullable=False),
        sa.Column("account_id", UUID(as_uuid=True)),
        sa.Column("submitted_by", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("verified", JSONB, nullable=False, server_default="{}"),
        sa.Column("locale", sa.String(5), nullable=False, server_default="de"),
        sa.Column("fee_amount", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("currency", sa.String(3), nullable=False, server_default="EUR"),
        sa.Column("fee", JSONB, nullable=False, server_default="{}"),
        sa.Column("reference", sa.String(255), nullable=False),
        sa.Column("payment_status", sa.String(16)),
        sa.Column("payment_id", UUID(as_uuid=True)),
        sa.Column("checkout_url", sa.String(2048)),
        sa.Column("draft_id", UUID(as_uuid=True), unique=True),
        sa.Column("correlation_id", sa.String(128)),
        sa.Column("traceparent", sa.String(64)),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        _ts("submitted_at"),
        _ts("updated_at"),
        sa.Column("retain_until", sa.Date, nullable=False),
        _ts("erased_at", nullable=True),
        sa.UniqueConstraint("tenant", "number", name="uq_cases_number"),
        sa.CheckConstraint("fee_amount >= 0", name="fee_not_negative"),
    )
    op.create_index("ix_cases_account", "cases", ["tenant", "account_id"])
    op.create_index("ix_cases_department", "cases", ["tenant", "department", "status"])
    op.create_index("ix_cases_retain_until", "cases", ["retain_until"])
    op.create_foreign_key("fk_drafts_submitted_case_id_cases", "drafts", "cases",
                          ["submitted_case_id"], ["id"], ondelete="SET NULL")
    op.create_table(
        "case_number_counters",
        sa.Column("tenant", sa.String(63), primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("last", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "case_history",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("case_id", UUID(as_uuid=True), sa.ForeignKey("cases.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        _ts("at"),
        sa.Column("detail", JSONB, nullable=False, server_default="{}"),
    )
    op.create_index("ix_case_history_case", "case_history", ["case_id", "id"])
    op.create_table(
        "attachments",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("draft_id", UUID(as_uuid=True), sa.ForeignKey("drafts.id", ondelete="CASCADE")),
        sa.Column("case_id", UUID(as_uuid=True), sa.ForeignKey("cases.id", ondelete="CASCADE")),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(200), nullable=False),
        _ts("created_at"),
        sa.CheckConstraint("(draft_id IS NULL) <> (case_id IS NULL)", name="one_owner"),
    )
    op.create_index("ix_attachments_draft", "attachments", ["draft_id"])
    op.create_index("ix_attachments_case", "attachments", ["case_id"])
    op.create_table(
        "attachment_blobs",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("content", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("attachment_blobs")
    op.drop_table("attachments")
    op.drop_table("case_history")
    op.drop_table("case_number_counters")
    op.drop_constraint("fk_drafts_submitted_case_id_cases", "drafts", type_="foreignkey")
    op.drop_table("cases")
    op.drop_table("drafts")
