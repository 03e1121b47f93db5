"""A refund may be limited to some line items of its payment (a department's cashier pays
back only that department's items): their positions, NULL for a refund over all of them.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("refunds", sa.Column("line_positions", postgresql.ARRAY(sa.Integer)))


def downgrade() -> None:
    op.drop_column("refunds", "line_positions")
