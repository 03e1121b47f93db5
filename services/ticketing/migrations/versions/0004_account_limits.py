"""Limits per account and offering against hoarding (``max_tickets_per_account`` of one slot,
``max_open_orders_per_account`` unpaid orders); existing offerings allow at least what one
order may hold. And erased orders placed by the person themselves lose the account id that
``placed_by`` (``citizen:<id>``) still carried.

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
    op.add_column("offerings", sa.Column("max_tickets_per_account", sa.Integer(),
                                         nullable=False, server_default="10"))
    op.add_column("offerings", sa.Column("max_open_orders_per_account", sa.Integer(),
                                         nullable=False, server_default="2"))
    op.execute("UPDATE offerings SET max_tickets_per_account = max_tickets_per_order "
               "WHERE max_tickets_per_order > max_tickets_per_account")
    op.create_check_constraint("ck_offerings_max_tickets_per_account", "offerings",
                               "max_tickets_per_account > 0")
    op.create_check_constraint("ck_offerings_max_open_orders_per_account", "offerings",
                               "max_open_orders_per_account > 0")
    op.execute("UPDATE orders SET placed_by = 'erased-account' "
               "WHERE erased AND account_id IS NULL AND placed_by LIKE 'citizen:%'")


def downgrade() -> None:
    op.drop_constraint("ck_offerings_max_open_orders_per_account", "offerings")
    op.drop_constraint("ck_offerings_max_tickets_per_account", "offerings")
    op.drop_column("offerings", "max_open_orders_per_account")
    op.drop_column("offerings", "max_tickets_per_account")
