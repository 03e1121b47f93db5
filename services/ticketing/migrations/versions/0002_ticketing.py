"""Catalogue (venues, offerings, ticket types, quotas, opening rules, slots), orders, tickets with
their entitlements, check-ins and occupancy.

Capacity is guarded twice: the reserving UPDATE is conditional (``held + sold + n <= capacity``)
and the table refuses any row where ``held + sold`` exceeds ``capacity``.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _ts(name: str, *, nullable: bool = True, default: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.func.now() if default else None)


def _uuid(name: str, *, fk: str | None = None, nullable: bool = False,
          ondelete: str | None = None) -> sa.Column:  # type: ignore[type-arg]
    args = [sa.ForeignKey(fk, ondelete=ondelete)] if fk else []
    return sa.Column(name, UUID(as_uuid=True), *args, nullable=nullable)


def _scope() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column("tenant", sa.String(63), nullable=False),
            sa.Column("department", sa.String(63), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "venues",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        *_scope(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("address", sa.String(300)),
        sa.Column("timezone", sa.String(64), nullable=False, server_default="Europe/Berlin"),
        sa.Column("max_occupancy", sa.Integer),
        sa.Column("present", sa.Integer, nullable=False, server_default="0"),
        _ts("created_at", nullable=False, default=True),
        _ts("updated_at", nullable=False, default=True),
        sa.CheckConstraint("present >= 0", name="present_not_negative"),
        sa.UniqueConstraint("tenant", "department", "name", name="uq_venues_name"),
    )
    op.create_table(
        "offerings",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        *_scope(),
        sa.Column("cost_centre", sa.String(32), nullable=False),
        _uuid("venue_id", fk="venues.id"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
        sa.Column("currency", sa.String(3), nullable=False, server_default="EUR"),
        sa.Column("hold_minutes", sa.Integer, nullable=False, server_default="15"),
        sa.Column("cancellable_until_hours", sa.Integer),
        sa.Column("sales_close_minutes_before", sa.Integer, nullable=False, server_default="0"),
        sa.Column("max_tickets_per_order", sa.Integer, nullable=False, server_default="10"),
        sa.Column("valid_days", sa.Integer),
        _ts("sales_start_at"),
        _ts("sales_end_at"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        _ts("created_at", nullable=False, default=True),
        _ts("updated_at", nullable=False, default=True),
        sa.CheckConstraint("kind IN ('timed', 'pass', 'combo')", name="kind"),
        sa.CheckConstraint("status IN ('draft', 'published', 'archived')", name="status"),
        sa.CheckConstraint("hold_minutes BETWEEN 1 AND 120", name="hold_minutes"),
        sa.CheckConstraint("max_tickets_per_order BETWEEN 1 AND 100", name="max_per_order"),
    )
    op.create_index("ix_offerings_scope", "offerings", ["tenant", "department"])
    op.create_table(
        "quotas",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _uuid("offering_id", fk="offerings.id", ondelete="CASCADE"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        sa.UniqueConstraint("offering_id", "name", name="uq_quotas_name"),
    )
    op.create_table(
        "ticket_types",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _uuid("offering_id", fk="offerings.id", ondelete="CASCADE"),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("price", sa.BigInteger, nullable=False),
        sa.Column("places", sa.Integer, nullable=False, server_default="1"),
        sa.Column("visits", sa.Integer, nullable=False, server_default="1"),
        _uuid("quota_id", fk="quotas.id", nullable=True, ondelete="SET NULL"),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint("price >= 0", name="price_not_negative"),
        sa.CheckConstraint("places BETWEEN 1 AND 20", name="places"),
        sa.CheckConstraint("visits BETWEEN 1 AND 100", name="visits"),
        sa.UniqueConstraint("offering_id", "code", name="uq_ticket_types_code"),
    )
    # A combo ticket type admits to other offerings (of any department of the tenant) and
    # splits its price between them; the shares add up to the price (checked by the service).
    op.create_table(
        "combo_components",
        _uuid("ticket_type_id", fk="ticket_types.id", ondelete="CASCADE"),
        sa.Column("position", sa.Integer, nullable=False),
        _uuid("offering_id", fk="offerings.id"),
        sa.Column("department", sa.String(63), nullable=False),
        sa.Column("cost_centre", sa.String(32), nullable=False),
        sa.Column("visits", sa.Integer, nullable=False, server_default="1"),
        sa.Column("share", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("ticket_type_id", "position"),
        sa.CheckConstraint("share >= 0", name="share_not_negative"),
        sa.CheckConstraint("visits BETWEEN 1 AND 100", name="visits"),
    )
    op.create_table(
        "slot_rules",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _uuid("offering_id", fk="offerings.id", ondelete="CASCADE"),
        sa.Column("weekdays", ARRAY(sa.SmallInteger), nullable=False),
        sa.Column("opens_at", sa.Time, nullable=False),
        sa.Column("closes_at", sa.Time, nullable=False),
        sa.Column("slot_minutes", sa.Integer, nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_until", sa.Date),
        sa.CheckConstraint("opens_at < closes_at", name="opens_before_closes"),
        sa.CheckConstraint("slot_minutes BETWEEN 5 AND 1440", name="slot_minutes"),
        sa.CheckConstraint("capacity >= 0", name="capacity_not_negative"),
    )
    op.create_table(
        "slots",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _uuid("offering_id", fk="offerings.id", ondelete="CASCADE"),
        *_scope(),
        _ts("starts_at", nullable=False),
        _ts("ends_at", nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("held", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sold", sa.Integer, nullable=False, server_default="0"),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        _ts("created_at", nullable=False, default=True),
        _ts("updated_at", nullable=False, default=True),
        sa.CheckConstraint("held >= 0 AND sold >= 0", name="counts_not_negative"),
        sa.CheckConstraint("held + sold <= capacity", name="within_capacity"),
        sa.CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        sa.CheckConstraint("status IN ('open', 'closed', 'cancelled')", name="status"),
        sa.UniqueConstraint("offering_id", "starts_at", name="uq_slots_start"),
    )
    op.create_index("ix_slots_scope_start", "slots", ["tenant", "department", "starts_at"])
    op.create_table(
        "slot_quota_usage",
        _uuid("slot_id", fk="slots.id", ondelete="CASCADE"),
        _uuid("quota_id", fk="quotas.id", ondelete="CASCADE"),
        sa.Column("held", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sold", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("slot_id", "quota_id"),
        sa.CheckConstraint("held >= 0 AND sold >= 0", name="counts_not_negative"),
    )
    op.create_table(
        "orders",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        _uuid("account_id", nullable=True),
        sa.Column("contact_email", sa.String(320)),
        sa.Column("locale", sa.String(5), nullable=False, server_default="de"),
        sa.Column("placed_by", sa.String(100), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("reason", sa.String(64)),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reference", sa.String(255), nullable=False),
        _uuid("payment_id", nullable=True),
        sa.Column("checkout_url", sa.Text),
        sa.Column("return_url", sa.Text),
        sa.Column("refunded_amount", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("correlation_id", sa.String(128)),
        sa.Column("traceparent", sa.String(64)),
        sa.Column("erased", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        _ts("hold_expires_at", nullable=False),
        _ts("placed_at", nullable=False, default=True),
        _ts("confirmed_at"),
        _ts("closed_at"),
        _ts("updated_at", nullable=False, default=True),
        sa.CheckConstraint("total >= 0", name="total_not_negative"),
        sa.CheckConstraint(
            "status IN ('awaiting_payment', 'confirmed', 'cancellation_requested', "
            "'cancelled', 'expired', 'refunded')", name="status"),
        sa.UniqueConstraint("tenant", "reference", name="uq_orders_reference"),
    )
    op.create_index("ix_orders_account", "orders", ["tenant", "account_id", "placed_at"])
    op.create_index("ix_orders_holds_due", "orders", ["hold_expires_at"],
                    postgresql_where=sa.text("status = 'awaiting_payment'"))
    op.create_index("ix_orders_payment", "orders", ["payment_id"])
    op.create_table(
        "order_lines",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _uuid("order_id", fk="orders.id", ondelete="CASCADE"),
        sa.Column("position", sa.Integer, nullable=False),
        *_scope(),
        sa.Column("cost_centre", sa.String(32), nullable=False),
        _uuid("offering_id", fk="offerings.id"),
        _uuid("ticket_type_id", fk="ticket_types.id"),
        _uuid("slot_id", fk="slots.id", nullable=True),
        _uuid("quota_id", nullable=True),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("places", sa.Integer, nullable=False),
        sa.Column("unit_price", sa.BigInteger, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("description", sa.String(255), nullable=False),
        sa.CheckConstraint("quantity BETWEEN 1 AND 100", name="quantity"),
        sa.CheckConstraint("amount = unit_price * quantity", name="amount_is_price_times_qty"),
        sa.UniqueConstraint("order_id", "position", name="uq_order_lines_position"),
    )
    op.create_index("ix_order_lines_slot", "order_lines", ["slot_id"])
    op.create_index("ix_order_lines_scope", "order_lines", ["tenant", "department"])
    # What the order asks payment to collect, per department and cost centre (a combo's price
    # split into its components' shares): the payment request's line items.
    op.create_table(
        "order_payment_items",
        _uuid("order_id", fk="orders.id", ondelete="CASCADE"),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("department", sa.String(63), nullable=False),
        sa.Column("cost_centre", sa.String(32), nullable=False),
        sa.Column("description", sa.String(255), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("order_id", "position"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
    )
    op.create_table(
        "tickets",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        *_scope(),
        _uuid("order_id", fk="orders.id", ondelete="CASCADE"),
        _uuid("order_line_id", fk="order_lines.id", ondelete="CASCADE"),
        _uuid("offering_id", fk="offerings.id"),
        _uuid("ticket_type_id", fk="ticket_types.id"),
        _uuid("slot_id", fk="slots.id", nullable=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="valid"),
        _uuid("holder_account_id", nullable=True),
        _ts("valid_from", nullable=False),
        _ts("valid_until", nullable=False),
        _ts("issued_at", nullable=False, default=True),
        _ts("voided_at"),
        sa.Column("void_reason", sa.String(64)),
        sa.CheckConstraint("status IN ('valid', 'voided')", name="status"),
    )
    op.create_index("ix_tickets_order", "tickets", ["order_id"])
    op.create_index("ix_tickets_holder", "tickets", ["tenant", "holder_account_id"])
    # What a ticket admits to: one row for a single ticket, one per component of a combo;
    # a multi-visit pass has one row with several visits.
    op.create_table(
        "ticket_entitlements",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _uuid("ticket_id", fk="tickets.id", ondelete="CASCADE"),
        sa.Column("department", sa.String(63), nullable=False),
        _uuid("offering_id", fk="offerings.id"),
        _uuid("slot_id", fk="slots.id", nullable=True),
        sa.Column("visits_total", sa.Integer, nullable=False),
        sa.Column("visits_used", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint("visits_used >= 0 AND visits_used <= visits_total",
                           name="visits_within_total"),
    )
    op.create_index("ix_ticket_entitlements_ticket", "ticket_entitlements", ["ticket_id"])
    op.create_table(
        "checkins",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("scan_id", sa.String(100), nullable=False),
        sa.Column("department", sa.String(63), nullable=False),
        _uuid("venue_id", nullable=True),
        _uuid("ticket_id", nullable=True),
        _uuid("entitlement_id", nullable=True),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("gate", sa.String(100)),
        sa.Column("scanned_by", sa.String(100), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("response", JSONB, nullable=False),
        _ts("scanned_at", nullable=False, default=True),
        sa.CheckConstraint("direction IN ('entry', 'exit')", name="direction"),
        sa.UniqueConstraint("tenant", "scan_id", name="uq_checkins_scan"),
    )
    op.create_index("ix_checkins_ticket", "checkins", ["ticket_id"])
    op.create_index("ix_checkins_scope_time", "checkins", ["tenant", "department", "scanned_at"])


def downgrade() -> None:
    for table in ("checkins", "ticket_entitlements", "tickets", "order_payment_items",
                  "order_lines", "orders", "slot_quota_usage", "slots", "slot_rules",
                  "combo_components", "ticket_types", "quotas", "offerings", "venues"):
        op.drop_table(table)
