"""Ledger guards (line positions, one booking per payment or refund, balanced bookings,
append-only entries) and the providers' settlements as imported for reconciliation.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# A booking (all entries with one booking_id) must balance when the transaction commits: a
# deferred constraint trigger checks every booking a transaction touched.
_BALANCE_FUNCTION = """
CREATE FUNCTION ledger_booking_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unbalanced bigint;
BEGIN
    SELECT sum(debit) - sum(credit) INTO unbalanced
      FROM ledger_entries WHERE booking_id = NEW.booking_id;
    IF unbalanced <> 0 THEN
        RAISE EXCEPTION 'ledger booking % does not balance (debit - credit = %)',
            NEW.booking_id, unbalanced USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
"""

_APPEND_ONLY_FUNCTION = """
CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only; book a correction instead'
        USING ERRCODE = 'insufficient_privilege';
END $$;
"""


def upgrade() -> None:
    # No entries exist before this revision: the code that books them arrives with it.
    op.add_column("ledger_entries", sa.Column("line_position", sa.Integer, nullable=False))
    op.create_index(
        "uq_ledger_entries_payment_booking", "ledger_entries",
        ["payment_id", "line_position", "account"], unique=True,
        postgresql_where=sa.text("refund_id IS NULL"),
    )
    op.create_index(
        "uq_ledger_entries_refund_booking", "ledger_entries",
        ["refund_id", "line_position", "account"], unique=True,
        postgresql_where=sa.text("refund_id IS NOT NULL"),
    )
    op.create_index("ix_ledger_entries_payment", "ledger_entries", ["payment_id"])
    op.execute(_BALANCE_FUNCTION)
    op.execute(
        "CREATE CONSTRAINT TRIGGER ledger_booking_balanced AFTER INSERT ON ledger_entries "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_booking_balanced()"
    )
    op.execute(_APPEND_ONLY_FUNCTION)
    op.execute(
        "CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries "
        "FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()"
    )
    op.create_index("ix_refunds_open", "refunds", ["created_at"],
                    postgresql_where=sa.text("status = 'submitted'"))
    op.create_table(
        "provider_settlements",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("settled_on", sa.Date, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        # No foreign keys: the provider may report a payment or refund we do not know, and
        # that is exactly what reconciliation must show.
        sa.Column("payment_id", UUID(as_uuid=True), nullable=False),
        sa.Column("refund_id", UUID(as_uuid=True)),
        sa.Column("provider_reference", sa.String(255), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.CheckConstraint("kind IN ('payment', 'refund')", name="kind"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("(kind = 'refund') = (refund_id IS NOT NULL)", name="refund_has_id"),
    )
    # Not unique on the provider's reference: a line the provider reports twice is a
    # discrepancy to show, not a row to drop.
    op.create_index("ix_provider_settlements_day", "provider_settlements",
                    ["tenant", "settled_on", "provider"])
    op.create_table(
        "settlement_imports",
        sa.Column("provider", sa.String(32), primary_key=True),
        sa.Column("tenant", sa.String(63), primary_key=True),
        sa.Column("settled_on", sa.Date, primary_key=True),
        sa.Column("lines", sa.Integer, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("settlement_imports")
    op.drop_table("provider_settlements")
    op.drop_index("ix_refunds_open", table_name="refunds")
    op.execute("DROP TRIGGER ledger_entries_append_only ON ledger_entries")
    op.execute("DROP FUNCTION ledger_entries_append_only()")
    op.execute("DROP TRIGGER ledger_booking_balanced ON ledger_entries")
    op.execute("DROP FUNCTION ledger_booking_balanced()")
    op.drop_index("ix_ledger_entries_payment", table_name="ledger_entries")
    op.drop_index("uq_ledger_entries_refund_booking", table_name="ledger_entries")
    op.drop_index("uq_ledger_entries_payment_booking", table_name="ledger_entries")
    op.drop_column("ledger_entries", "line_position")
