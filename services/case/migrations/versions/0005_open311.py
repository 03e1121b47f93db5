"""The Open311 slice's tables: the key that pseudonymises client addresses and the per-client
report log behind the rate limit of ``POST requests.json``.

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
        "open311_client_keys",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("key", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.CheckConstraint("id = 1", name="ck_open311_client_keys_single"),
    )
    op.create_table(
        "open311_report_log",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("client_hash", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_open311_report_log_client_at", "open311_report_log",
                    ["client_hash", "at"])
    op.create_index("ix_open311_report_log_at", "open311_report_log", ["at"])


def downgrade() -> None:
    op.drop_table("open311_report_log")
    op.drop_table("open311_client_keys")
