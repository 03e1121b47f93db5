"""Login throttles: failed password logins counted per (tenant, e-mail address, client
address), so a stranger's failures lock only the stranger out (issue 11, hole 8).

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
    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_login_throttles_last_failed_at", "login_throttles", ["last_failed_at"])


def downgrade() -> None:
    op.drop_table("login_throttles")
