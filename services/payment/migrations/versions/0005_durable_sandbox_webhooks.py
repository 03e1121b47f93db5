"""The sandbox provider's decisions and their webhooks, kept in the database so that a webhook
pending when a process dies is still sent (by the worker); and when each open payment's status
was last asked at its provider (the reconciliation job).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sandbox_notifications",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("provider_payment_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reason", sa.String(64)),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_status", sa.Integer),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("provider_payment_id",
                            name="uq_sandbox_notifications_provider_payment"),
    )
    op.create_index("ix_sandbox_notifications_due", "sandbox_notifications", ["due_at"],
                    postgresql_where=sa.text("due_at IS NOT NULL"))
    op.add_column("payments", sa.Column("provider_checked_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("payments", "provider_checked_at")
    op.drop_table("sandbox_notifications")
