"""Working a case to a decision: the case's assignee, deadlines, decision and search text; the
parts other departments contribute; notes; requests for information; decision documents and
their templates; and the append-only audit trail.

The audit trail refuses every UPDATE, and every DELETE unless the transaction declared itself
the retention purge (``set_config('city.case_purging', 'on', true)``): a case file past its
retention goes with its trail, nothing else may remove an entry.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_AUDIT_GUARD = """
CREATE FUNCTION case_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('city.case_purging', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'case_audit is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
"""


def _ts(name: str, *, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=None if nullable else sa.func.now())


def _case_fk() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("case_id", UUID(as_uuid=True),
                     sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False)


def _cases() -> None:
    op.add_column("cases", sa.Column("assignee", sa.String(100)))
    op.add_column("cases", _ts("due_at", nullable=True))
    op.add_column("cases", _ts("state_deadline", nullable=True))
    op.add_column("cases", sa.Column("applicant_name", sa.String(200)))
    op.add_column("cases", sa.Column("decision", sa.String(16)))
    op.add_column("cases", _ts("decided_at", nullable=True))
    op.add_column("cases", sa.Column("outcome", JSONB))
    op.add_column("cases", sa.Column("refund_status", sa.String(16)))
    op.add_column("cases", sa.Column(
        "search", sa.dialects.postgresql.TSVECTOR,
        sa.Computed("to_tsvector('simple', number || ' ' || coalesce(applicant_name, ''))",
                    persisted=True)))
    op.add_column("service_parameters", sa.Column("part_departments", JSONB, nullable=False,
                                                  server_default="{}"))
    op.create_index("ix_cases_search", "cases", ["search"], postgresql_using="gin")
    op.create_index("ix_cases_worklist", "cases",
                    ["tenant", "department", "status", "due_at", "id"])
    op.create_index("ix_cases_assignee", "cases", ["tenant", "assignee"],
                    postgresql_where=sa.text("assignee IS NOT NULL"))
    op.create_index("ix_cases_state_deadline", "cases", ["state_deadline"],
                    postgresql_where=sa.text("state_deadline IS NOT NULL"))


def _parts() -> None:
    op.create_table(
        "case_parts",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _case_fk(),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("department", sa.String(63), nullable=False),
        sa.Column("key", sa.String(63), nullable=False),
        sa.Column("step", sa.String(63), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("answer", JSONB),
        sa.Column("answered_by", sa.String(100)),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        _ts("created_at"),
        _ts("opened_at", nullable=True),
        _ts("answered_at", nullable=True),
        _ts("due_at", nullable=True),
        sa.UniqueConstraint("case_id", "key", name="uq_case_parts_key"),
        sa.CheckConstraint("status IN ('waiting', 'open', 'answered', 'cancelled')",
                           name="part_status"),
    )
    op.create_index("ix_case_parts_worklist", "case_parts",
                    ["tenant", "department", "status", "due_at", "id"])
    op.create_index("ix_case_parts_case", "case_parts", ["case_id", "position"])


def _notes_and_requests() -> None:
    op.create_table(
        "case_notes",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _case_fk(),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("part_id", UUID(as_uuid=True),
                  sa.ForeignKey("case_parts.id", ondelete="CASCADE")),
        _ts("created_at"),
        sa.CheckConstraint("visibility IN ('internal', 'public')", name="note_visibility"),
    )
    op.create_index("ix_case_notes_case", "case_notes", ["case_id", "created_at"])
    op.create_table(
        "case_information_requests",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _case_fk(),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("fields", JSONB, nullable=False, server_default="[]"),
        sa.Column("attachment_kinds", JSONB, nullable=False, server_default="[]"),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=False),
        _ts("requested_at"),
        _ts("reminded_at", nullable=True),
        _ts("answered_at", nullable=True),
        sa.Column("answer", JSONB),
        _ts("closed_at", nullable=True),
        sa.CheckConstraint("status IN ('open', 'answered', 'expired', 'cancelled')",
                           name="information_request_status"),
    )
    op.create_index("ix_case_information_requests_case", "case_information_requests",
                    ["case_id", "requested_at"])
    op.create_index("uq_case_information_requests_open", "case_information_requests",
                    ["case_id"], unique=True, postgresql_where=sa.text("status = 'open'"))
    op.create_index("ix_case_information_requests_deadline", "case_information_requests",
                    ["deadline"], postgresql_where=sa.text("status = 'open'"))


def _documents() -> None:
    op.create_table(
        "document_templates",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant", sa.String(63)),
        sa.Column("service_id", UUID(as_uuid=True), sa.ForeignKey("services.id"),
                  nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("content", JSONB, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        _ts("created_at"),
        sa.UniqueConstraint("tenant", "service_id", "kind", "version",
                            name="uq_document_templates_version",
                            postgresql_nulls_not_distinct=True),
    )
    op.create_table(
        "case_documents",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _case_fk(),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("locale", sa.String(5), nullable=False),
        sa.Column("template_id", UUID(as_uuid=True), sa.ForeignKey("document_templates.id")),
        sa.Column("template_version", sa.Integer),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        _ts("created_at"),
    )
    op.create_index("ix_case_documents_case", "case_documents", ["case_id", "created_at"])


def _audit() -> None:
    op.create_table(
        "case_audit",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        _case_fk(),
        sa.Column("tenant", sa.String(63), nullable=False),
        _ts("at"),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("before", JSONB),
        sa.Column("after", JSONB),
        sa.Column("correlation_id", sa.String(128)),
    )
    op.create_index("ix_case_audit_case", "case_audit", ["case_id", "id"])
    op.execute(_AUDIT_GUARD)
    op.execute("CREATE TRIGGER case_audit_append_only BEFORE UPDATE OR DELETE ON case_audit "
               "FOR EACH ROW EXECUTE FUNCTION case_audit_append_only()")
    op.execute("CREATE TRIGGER case_audit_no_truncate BEFORE TRUNCATE ON case_audit "
               "FOR EACH STATEMENT EXECUTE FUNCTION case_audit_append_only()")


def upgrade() -> None:
    _cases()
    _parts()
    _notes_and_requests()
    _documents()
    _audit()


def downgrade() -> None:
    op.drop_table("case_audit")
    op.execute("DROP FUNCTION case_audit_append_only()")
    op.drop_table("case_documents")
    op.drop_table("document_templates")
    op.drop_table("case_information_requests")
    op.drop_table("case_notes")
    op.drop_table("case_parts")
    for index in ("ix_cases_state_deadline", "ix_cases_assignee", "ix_cases_worklist",
                  "ix_cases_search"):
        op.drop_index(index, table_name="cases")
    op.drop_column("service_parameters", "part_departments")
    for column in ("search", "refund_status", "outcome", "decided_at", "decision",
                   "applicant_name", "state_deadline", "due_at", "assignee"):
        op.drop_column("cases", column)
