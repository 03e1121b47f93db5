"""A partial index of the open parts by due date, so the stall count ``case_part_overdue`` reads
only those rows. Built concurrently: parts keep being answered while it is built.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_case_parts_open_due", "case_parts", ["due_at"],
            postgresql_where=sa.text("status = 'open'"),
            postgresql_concurrently=True, if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index("ix_case_parts_open_due", table_name="case_parts",
                      postgresql_concurrently=True, if_exists=True)
