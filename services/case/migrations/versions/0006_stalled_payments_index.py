"""A partial index of the cases awaiting payment, so the stalled-saga counts
(``case_payment_unanswered``, ``case_payment_without_outcome``) read only those rows instead of
every case file. Built concurrently: cases keep being submitted while it is built.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_cases_awaiting_payment", "cases", ["payment_status", "updated_at"],
            postgresql_where=sa.text("status = 'awaiting_payment'"),
            postgresql_concurrently=True, if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index("ix_cases_awaiting_payment", table_name="cases",
                      postgresql_concurrently=True, if_exists=True)
