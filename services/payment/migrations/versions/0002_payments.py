"""Payments with line items and history, provider notifications, refunds and the ledger.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _ts(name: str, *, nullable: bool = True, default: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.func.now() if default else None)


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("reference", sa.String(255), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("description", sa.String(255), nullable=False),
        sa.Column("return_url", sa.Text),
        sa.Column("metadata", JSONB, nullable=False, server_default="{}"),
        sa.Column("payer_account_id", UUID(as_uuid=True)),
        sa.Column("payer_email", sa.String(320)),
        sa.Column("payer_name", sa.String(200)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64)),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("provider_payment_id", sa.String(255)),
        sa.Column("next_url", sa.Text),
        sa.Column("refunded_amount", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        _ts("expires_at", nullable=False),
        _ts("created_at", nullable=False, default=True),
        _ts("updated_at", nullable=False, default=True),
        _ts("finished_at"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint(
            "status IN ('created', 'started', 'succeeded', 'failed', 'cancelled', 'expired')",
            name="status"),
        sa.CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount",
                           name="refunded_within_amount"),
        sa.UniqueConstraint("tenant", "source", "reference", name="uq_payments_source_reference"),
    )
    op.create_index("ix_payments_tenant_created", "payments", ["tenant", "created_at", "id"])
    op.create_index("ix_payments_payer", "payments", ["payer_account_id"])
    op.create_index("ix_payments_open_expiry", "payments", ["expires_at"],
                    postgresql_where=sa.text("status IN ('created', 'started')"))
    # Webhooks find the payment by the provider's id; a provider id names one payment.
    op.create_index("uq_payments_provider_payment", "payments",
                    ["provider", "provider_payment_id"], unique=True)
    op.create_table(
        "payment_line_items",
        sa.Column("payment_id", UUID(as_uuid=True),
                  sa.ForeignKey("payments.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("department", sa.String(63), nullable=False),
        sa.Column("cost_centre", sa.String(32), nullable=False),
        sa.Column("description", sa.String(255), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
    )
    op.create_index("ix_payment_line_items_department", "payment_line_items", ["department"])
    op.create_table(
        "payment_history",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("payment_id", UUID(as_uuid=True),
                  sa.ForeignKey("payments.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64)),
        sa.Column("data", JSONB, nullable=False, server_default="{}"),
        _ts("occurred_at", nullable=False, default=True),
    )
    op.create_table(
        "provider_notifications",
        sa.Column("provider", sa.String(32), primary_key=True),
        sa.Column("notification_id", sa.String(255), primary_key=True),
        sa.Column("payment_id", UUID(as_uuid=True)),
        sa.Column("kind", sa.String(32), nullable=False),
        _ts("received_at", nullable=False, default=True),
    )
    op.create_table(
        "refunds",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("payment_id", UUID(as_uuid=True),
                  sa.ForeignKey("payments.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(255)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("provider_refund_id", sa.String(255)),
        _ts("created_at", nullable=False, default=True),
        _ts("finished_at"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("status IN ('submitted', 'succeeded', 'failed')", name="status"),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("booking_id", UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("department", sa.String(63)),
        sa.Column("cost_centre", sa.String(32)),
        sa.Column("debit", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("credit", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("payment_id", UUID(as_uuid=True), sa.ForeignKey("payments.id"), nullable=False),
        sa.Column("refund_id", UUID(as_uuid=True), sa.ForeignKey("refunds.id")),
        sa.Column("value_date", sa.Date, nullable=False),
        _ts("booked_at", nullable=False, default=True),
        sa.CheckConstraint("debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0)",
                           name="one_side"),
    )
    op.create_index("ix_ledger_entries_report", "ledger_entries",
                    ["tenant", "department", "value_date"])


def downgrade() -> None:
    for table in ("ledger_entries", "refunds", "provider_notifications", "payment_history",
                  "payment_line_items", "payments"):
        op.drop_table(table)
