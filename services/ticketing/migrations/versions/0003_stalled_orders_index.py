"""A partial index of the unpaid orders still without a checkout page, so the stalled-saga count
(``order_without_checkout``) reads only those rows. Built concurrently: orders keep being placed
while it is built.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_orders_awaiting_checkout", "orders", ["placed_at"],
            postgresql_where=sa.text("status = 'awaiting_payment' AND checkout_url IS NULL"),
            postgresql_concurrently=True, if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index("ix_orders_awaiting_checkout", table_name="orders",
                      postgresql_concurrently=True, if_exists=True)
