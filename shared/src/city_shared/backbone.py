"""The tables every service database has for the event backbone: outbox, inbox, idempotency keys.

:func:`attach_backbone_tables` adds them to a service's metadata (so Alembic sees them) and
:func:`create_backbone` / :func:`drop_backbone` are what each service's first migration runs.
The outbox has a statement-level trigger that ``NOTIFY``s the relay on insert; the notification
is delivered on commit, so a rolled-back insert never wakes anyone.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

OUTBOX_CHANNEL = "city_outbox"

_NOTIFY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('{OUTBOX_CHANNEL}', '');
  RETURN NULL;
END $$;
"""
_NOTIFY_TRIGGER = """
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
"""


def attach_backbone_tables(metadata: MetaData) -> tuple[Table, Table, Table]:
    """Define ``outbox``, ``inbox`` and ``idempotency_keys`` on a service's metadata."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("topic", String(249), nullable=False),
        Column("key", String(200), nullable=False),
        Column("event_type", String(200), nullable=False),
        Column("attributes", JSONB, nullable=False),
        Column("data", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Index(
            "ix_outbox_unpublished",
            "id",
            postgresql_where=text("published_at IS NULL"),
        ),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer_group", String(200), nullable=False),
        Column("event_id", UUID(as_uuid=True), nullable=False),
        Column("event_type", String(200), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer_group", "event_id"),
    )
    idempotency = Table(
        "idempotency_keys",
        metadata,
        Column("scope", String(300), nullable=False),
        Column("key", String(255), nullable=False),
        Column("request_hash", String(64), nullable=False),
        Column("state", String(16), nullable=False),
        Column("response_status", Integer),
        Column("response_headers", JSONB),
        Column("response_body", LargeBinary),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("locked_until", DateTime(timezone=True), nullable=False),
        Column("expires_at", DateTime(timezone=True), nullable=False),
        PrimaryKeyConstraint("scope", "key"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )
    return outbox, inbox, idempotency


def create_backbone(connection: Connection) -> None:
    """Create the backbone tables and the outbox trigger (first migration of every service)."""
    metadata = MetaData()
    for table in attach_backbone_tables(metadata):
        table.create(connection)
    connection.execute(text(_NOTIFY_FUNCTION))
    connection.execute(text(_NOTIFY_TRIGGER))


def drop_backbone(connection: Connection) -> None:
    """Undo :func:`create_backbone`."""
    connection.execute(text("DROP TABLE IF EXISTS outbox, inbox, idempotency_keys"))
    connection.execute(text("DROP FUNCTION IF EXISTS outbox_notify()"))


__all__ = [
    "OUTBOX_CHANNEL",
    "attach_backbone_tables",
    "create_backbone",
    "drop_backbone",
]
