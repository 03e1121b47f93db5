"""The journey a payment belongs to (correlation id and trace context at its creation), so that
events caused later by a webhook, the pay page or a job stay in that journey.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payments", sa.Column("correlation_id", sa.String(128)))
    op.add_column("payments", sa.Column("traceparent", sa.String(64)))


def downgrade() -> None:
    op.drop_column("payments", "traceparent")
    op.drop_column("payments", "correlation_id")
