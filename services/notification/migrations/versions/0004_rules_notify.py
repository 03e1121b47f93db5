"""Every change of ``rules`` notifies the workers' rule views when it commits.

The worker skips, in memory, events no enabled rule names (``rules/view.py``). It must hear of a
new or enabled rule before the next event it concerns, not after a polling interval, so any
statement that changes the table (the API, the seed, an operator's SQL) fires
``pg_notify('notification_rules')``; PostgreSQL delivers it at commit.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION rules_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('notification_rules', '');
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER rules_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rules
        FOR EACH STATEMENT EXECUTE FUNCTION rules_notify()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER rules_notify ON rules")
    op.execute("DROP FUNCTION rules_notify()")
