"""The intake shaped like FIT-Connect's Submission API: destinations and their keys,
submissions with their transport status, encrypted attachments and the senders' event log
(signed Security Event Tokens).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _ts(name: str, *, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=None if nullable else sa.func.now())


def upgrade() -> None:
    op.create_table(
        "intake_destinations",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("department", sa.String(63), nullable=False),
        sa.Column("services", JSONB, nullable=False, server_default="[]"),
        sa.Column("encryption_kid", sa.String(100), nullable=False),
        sa.Column("public_jwk", JSONB, nullable=False),
        sa.Column("private_jwk_encrypted", sa.Text, nullable=False),
        sa.Column("signing_kid", sa.String(100), nullable=False),
        sa.Column("signing_public_jwk", JSONB, nullable=False),
        sa.Column("signing_private_jwk_encrypted", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        _ts("created_at"),
    )
    op.create_index("ix_intake_destinations_tenant", "intake_destinations",
                    ["tenant", "department"])
    op.create_table(
        "intake_submissions",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("destination_id", UUID(as_uuid=True),
                  sa.ForeignKey("intake_destinations.id"), nullable=False),
        sa.Column("client_id", sa.String(100), nullable=False),
        sa.Column("transport_case_id", UUID(as_uuid=True), nullable=False),
        sa.Column("service_identifier", sa.String(64), nullable=False),
        sa.Column("service_name", sa.String(255), nullable=False),
        sa.Column("announced_attachments", JSONB, nullable=False, server_default="[]"),
        sa.Column("status", sa.String(16), nullable=False, server_default="incomplete"),
        sa.Column("case_id", UUID(as_uuid=True), sa.ForeignKey("cases.id", ondelete="SET NULL")),
        sa.Column("reject_reason", sa.String(48)),
        _ts("created_at"),
        _ts("submitted_at", nullable=True),
        _ts("updated_at"),
        sa.CheckConstraint(
            "status IN ('incomplete', 'submitted', 'accepted', 'rejected')",
            name="transport_status"),
        sa.CheckConstraint("(status = 'rejected') = (reject_reason IS NOT NULL)",
                           name="rejected_has_reason"),
    )
    op.create_index("ix_intake_submissions_client", "intake_submissions",
                    ["tenant", "client_id"])
    op.create_index("ix_intake_submissions_transport_case", "intake_submissions",
                    ["transport_case_id"])
    op.create_index("ix_intake_submissions_incomplete", "intake_submissions", ["created_at"],
                    postgresql_where=sa.text("status = 'incomplete'"))
    op.create_table(
        "intake_attachments",
        sa.Column("submission_id", UUID(as_uuid=True),
                  sa.ForeignKey("intake_submissions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("attachment_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("ciphertext", sa.Text, nullable=False),
        _ts("uploaded_at"),
    )
    op.create_table(
        "intake_events",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("submission_id", UUID(as_uuid=True),
                  sa.ForeignKey("intake_submissions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("transport_case_id", UUID(as_uuid=True), nullable=False),
        sa.Column("name", sa.String(48), nullable=False),
        _ts("at"),
        sa.Column("detail", JSONB, nullable=False, server_default="{}"),
        sa.Column("token", sa.Text, nullable=False),
    )
    op.create_index("ix_intake_events_case", "intake_events", ["transport_case_id", "id"])


def downgrade() -> None:
    op.drop_table("intake_events")
    op.drop_table("intake_attachments")
    op.drop_table("intake_submissions")
    op.drop_table("intake_destinations")
