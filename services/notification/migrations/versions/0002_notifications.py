"""Templates (versioned), rules, contacts, preferences, messages with their deliveries, the
citizen inbox and the sandbox SMS provider's outbox.

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

_STATUSES = ("created", "sending", "delivered", "temporary_failure", "permanent_failure",
             "skipped_opted_out")


def _ts(name: str, *, nullable: bool = True, default: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.func.now() if default else None)


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("department", sa.String(63)),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("description", sa.String(255), nullable=False, server_default=""),
        sa.Column("current_version", sa.Integer, nullable=False),
        _ts("created_at", nullable=False, default=True),
        _ts("updated_at", nullable=False, default=True),
    )
    # One template per key and scope; a tenant-wide template has no department.
    op.execute("CREATE UNIQUE INDEX uq_templates_scope_key ON templates "
               "(tenant, coalesce(department, ''), key)")
    op.create_table(
        "template_versions",
        sa.Column("template_id", UUID(as_uuid=True),
                  sa.ForeignKey("templates.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("variables", JSONB, nullable=False),
        sa.Column("content", JSONB, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        _ts("created_at", nullable=False, default=True),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )
    op.create_table(
        "rules",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("department", sa.String(63)),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("template_key", sa.String(100), nullable=False),
        sa.Column("channels", JSONB, nullable=False),
        sa.Column("legally_required", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        _ts("created_at", nullable=False, default=True),
        _ts("updated_at", nullable=False, default=True),
    )
    op.execute("CREATE UNIQUE INDEX uq_rules_scope_event_type ON rules "
               "(tenant, coalesce(department, ''), event_type)")
    op.create_table(
        "contacts",
        sa.Column("tenant", sa.String(63), primary_key=True),
        sa.Column("account_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("email", sa.String(320)),
        sa.Column("locale", sa.String(8)),
        _ts("updated_at", nullable=False, default=True),
    )
    op.create_table(
        "preferences",
        sa.Column("tenant", sa.String(63), primary_key=True),
        sa.Column("account_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        _ts("updated_at", nullable=False, default=True),
        sa.CheckConstraint("channel IN ('email', 'sms', 'inbox')", name="channel"),
    )
    op.create_table(
        "messages",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("department", sa.String(63)),
        sa.Column("dedup_key", sa.String(400), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("source_event_id", UUID(as_uuid=True)),
        sa.Column("event_type", sa.String(200)),
        sa.Column("rule_id", UUID(as_uuid=True)),
        sa.Column("client_id", sa.String(255)),
        sa.Column("reference", sa.String(255)),
        sa.Column("template_key", sa.String(100), nullable=False),
        sa.Column("template_version", sa.Integer),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("recipient_account_id", UUID(as_uuid=True)),
        sa.Column("legally_required", sa.Boolean, nullable=False),
        sa.Column("params", JSONB, nullable=False, server_default="{}"),
        sa.Column("correlation_id", sa.String(128)),
        sa.Column("traceparent", sa.String(64)),
        _ts("created_at", nullable=False, default=True),
        sa.CheckConstraint("origin IN ('event', 'request', 'api')", name="origin"),
        sa.UniqueConstraint("tenant", "dedup_key", name="uq_messages_dedup_key"),
    )
    op.create_index("ix_messages_recipient", "messages", ["tenant", "recipient_account_id"])
    op.create_table(
        "deliveries",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("message_id", UUID(as_uuid=True),
                  sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("address", sa.String(320)),
        sa.Column("content", JSONB),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        _ts("next_attempt_at"),
        sa.Column("reason", sa.String(64)),
        _ts("created_at", nullable=False, default=True),
        _ts("updated_at", nullable=False, default=True),
        _ts("delivered_at"),
        sa.CheckConstraint("channel IN ('email', 'sms', 'inbox')", name="channel"),
        sa.CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in _STATUSES) + ")",
                           name="status"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        sa.UniqueConstraint("message_id", "channel", name="uq_deliveries_message_channel"),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["next_attempt_at"],
                    postgresql_where=sa.text(
                        "status IN ('created', 'sending', 'temporary_failure')"))
    op.create_table(
        "inbox_messages",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("account_id", UUID(as_uuid=True), nullable=False),
        sa.Column("delivery_id", UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("department", sa.String(63)),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        _ts("created_at", nullable=False, default=True),
        _ts("read_at"),
    )
    op.create_index("ix_inbox_messages_account", "inbox_messages",
                    ["tenant", "account_id", "created_at"])
    op.create_table(
        "sandbox_sms",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("delivery_id", UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("to_number", sa.String(32)),
        sa.Column("text", sa.Text, nullable=False),
        _ts("sent_at", nullable=False, default=True),
    )


def downgrade() -> None:
    for table in ("sandbox_sms", "inbox_messages", "deliveries", "messages", "preferences",
                  "contacts", "rules", "template_versions", "templates"):
        op.drop_table(table)
