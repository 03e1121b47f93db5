"""The event backbone: outbox, inbox and idempotency keys.

Revision ID: 0001
Revises:
"""

from alembic import op

from city_shared.backbone import create_backbone, drop_backbone

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_backbone(op.get_bind())


def downgrade() -> None:
    drop_backbone(op.get_bind())
